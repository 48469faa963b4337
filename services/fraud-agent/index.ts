import type { ExtraRole } from '../../runtime/node.ts';
import { EventReactorHost } from '../../runtime/participants/index.ts';
import { type FraudConfig, loadFraudConfig } from './config.ts';
import { fraudAgentReactor } from './agent.ts';
import { LlmReviewer } from './llm-reviewer.ts';
import { defaultModelPath, loadArtifact, Scorer } from './scorer.ts';

export { type FraudConfig, fraudConfigHelp, loadFraudConfig } from './config.ts';
export { factsOf, fraudAgentReactor, PaymentAuthorizedData, type Verdict } from './agent.ts';
export { fraudMetrics } from './metrics.ts';
export { loadArtifact, Scorer } from './scorer.ts';
export { VelocityStore } from './velocity-store.ts';

/**
 * The `fraud-agent` role: settings from the environment (JETSAGA_FRAUD_*; `overrides`
 * win, for tests), the shipped model, and a reactor host on `payment.authorized`.
 */
export function fraudAgentRole(overrides: Partial<FraudConfig> = {}): ExtraRole {
  return {
    description: 'scores payment.authorized events with the fraud model; publishes fraud.approved/flagged',
    async start(ctx) {
      const config = loadFraudConfig(process.env, overrides);
      const artifact = loadArtifact(config.modelPath ?? defaultModelPath);
      const scorer = new Scorer(artifact, config.threshold ?? artifact.threshold);
      const reviewer = config.llmUrl
        ? new LlmReviewer({
            url: config.llmUrl,
            model: config.llmModel,
            key: config.llmKey,
            timeoutMs: config.llmTimeoutMs,
          })
        : undefined;
      const host = new EventReactorHost(
        fraudAgentReactor({ scorer, reviewer, band: config.llmBand }),
        ctx.bus,
        ctx.db,
        ctx.log,
      );
      await host.start();
      ctx.log.info(
        {
          model: scorer.version,
          threshold: scorer.threshold,
          llm: config.llmUrl ? { url: config.llmUrl, model: config.llmModel, band: config.llmBand } : 'off',
        },
        'fraud agent started',
      );
      return { stop: () => host.stop() };
    },
  };
}
