import { defineReactor, type ReactorDefinition } from 'jetsaga';
import { type FraudConfig, loadFraudConfig } from './config.ts';
import { fraudAgentReactor, fraudVerdictContracts } from './agent.ts';
import { LlmReviewer } from './llm-reviewer.ts';
import { defaultModelPath, loadArtifact, Scorer } from './scorer.ts';

export { type FraudConfig, fraudSettings, loadFraudConfig } from './config.ts';
export {
  factsOf,
  fraudAgentReactor,
  fraudVerdictContracts,
  maxRecentPayments,
  PaymentAuthorizedData,
  RecentPayment,
  ReviewData,
  type Verdict,
  VerdictData,
} from './agent.ts';
export { fraudMetrics } from './metrics.ts';
export { loadArtifact, Scorer } from './scorer.ts';
export { VelocityStore } from './velocity-store.ts';

/**
 * The `fraud-agent` reactor: at start, its settings from the environment and the command line
 * (JETSAGA_FRAUD_* and their flags, see `fraudSettings`; `overrides` win, for tests), the
 * shipped model and the optional LLM reviewer; then a verdict for every `payment.authorized`.
 */
export function fraudAgent(overrides: Partial<FraudConfig> = {}): ReactorDefinition {
  let agent: ReactorDefinition | undefined;
  return defineReactor({
    name: 'fraud-agent',
    description:
      'scores payment.authorized events with the fraud model; publishes fraud.approved/flagged/review',
    source: 'fraud',
    on: 'payment.authorized',
    emits: fraudVerdictContracts,
    inbox: 'fraud_verdicts',
    idSuffix: 'verdict',
    async setup(ctx) {
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
      agent = fraudAgentReactor({ scorer, reviewer, band: config.llmBand, reviewBand: config.reviewBand });
      await agent.setup?.(ctx);
      ctx.log.info(
        {
          model: scorer.version,
          threshold: scorer.threshold,
          llm: config.llmUrl ? { url: config.llmUrl, model: config.llmModel, band: config.llmBand } : 'off',
          manualReview: config.reviewBand ?? 'off',
        },
        'fraud agent started',
      );
    },
    react(event, ctx) {
      if (!agent) throw new Error('fraud agent: react before setup');
      return agent.react(event, ctx);
    },
  });
}
