import {
  type Attributes,
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
// The SDK, the exporter and the context manager load only when tracing is configured (startTracing).
import type { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';

/**
 * Distributed tracing with OpenTelemetry, configured by the standard `OTEL_*` variables and OFF
 * unless `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set (and
 * `OTEL_SDK_DISABLED` is not `true`). Off, there is no provider, no context manager, and every
 * helper here returns at its first line: `inSpan` runs its function with no span, `activeTraceparent`
 * answers undefined, and callers keep the traceparent the envelope already had.
 *
 * On, a span's parent is the W3C `traceparent` the incoming envelope (or HTTP request) carries, and
 * what a span sends out carries that span's own traceparent (`traceparentOf`), so the spans of one
 * saga, across processes, make one trace. Spans are exported in batches (BatchSpanProcessor:
 * `OTEL_BSP_*`) over OTLP/HTTP with JSON bodies (`OTEL_EXPORTER_OTLP_*` endpoint, headers, timeout,
 * compression); the sampler is `OTEL_TRACES_SAMPLER`/`_ARG` (parent-based always-on by default),
 * the service name `OTEL_SERVICE_NAME` (default `jetsaga-<roles>`), more resource attributes
 * `OTEL_RESOURCE_ATTRIBUTES`.
 */

export { SpanKind, type Span };

const tracerName = 'jetsaga';
const propagator = new W3CTraceContextPropagator();
const carrierGetter = {
  keys: (c: { traceparent?: string | undefined }) => (c.traceparent === undefined ? [] : ['traceparent']),
  get: (c: { traceparent?: string | undefined }, key: string) =>
    key === 'traceparent' ? c.traceparent : undefined,
};

/** Set while a provider runs in this process; null: tracing is off. */
let tracer: Tracer | null = null;
let provider: BasicTracerProvider | null = null;
let users = 0;
let starting: Promise<void> | null = null;

/** Whether the environment asks for traces: an OTLP endpoint is set and the SDK is not disabled. */
export function tracingConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  if (env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === 'none') return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim());
}

/** Whether spans are being made in this process. */
export function tracingOn(): boolean {
  return tracer !== null;
}

/**
 * Starts the process's tracer provider when the environment configures one (see above); null when
 * it does not. Once per process: a second call (two nodes in one process) shares the first
 * provider, and the provider shuts down (flushing what is buffered) when the last caller's `stop`
 * resolves.
 */
export async function startTracing(opts: {
  /** Used when `OTEL_SERVICE_NAME` is not set. */
  serviceName: string;
  env?: NodeJS.ProcessEnv;
}): Promise<{ stop(): Promise<void> } | null> {
  if (!tracingConfigured(opts.env)) return null;
  starting ??= install(opts.serviceName).catch((err: unknown) => {
    starting = null;
    throw err;
  });
  await starting;
  users++;
  let stopped = false;
  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      if (--users > 0 || !provider) return;
      const p = provider;
      provider = null;
      tracer = null;
      starting = null;
      await p.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}

/** Loads the SDK and installs the provider, the context manager and the propagator globally. */
async function install(serviceName: string): Promise<void> {
  const [{ AsyncLocalStorageContextManager }, { OTLPTraceExporter }, resources, sdk, semconv] =
    await Promise.all([
      import('@opentelemetry/context-async-hooks'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/semantic-conventions'),
    ]);
  // envDetector reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, and wins over the default.
  const resource = resources
    .defaultResource()
    .merge(resources.resourceFromAttributes({ [semconv.ATTR_SERVICE_NAME]: serviceName }))
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  provider = new sdk.BasicTracerProvider({
    resource,
    spanProcessors: [new sdk.BatchSpanProcessor(new OTLPTraceExporter())],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(propagator);
  trace.setGlobalTracerProvider(provider);
  tracer = provider.getTracer(tracerName);
}

/** The context whose span the W3C `traceparent` names (the root context when absent or invalid). */
export function contextOf(traceparent: string | undefined): Context {
  if (traceparent === undefined) return ROOT_CONTEXT;
  return propagator.extract(ROOT_CONTEXT, { traceparent }, carrierGetter);
}

/** The W3C `traceparent` of a span: what the messages it sends carry. */
export function traceparentOf(span: Span): string {
  const carrier: { traceparent?: string } = {};
  propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, {
    set: (c, k, v) => {
      if (k === 'traceparent') c.traceparent = v;
    },
  });
  return carrier.traceparent!;
}

/** The traceparent of the span active here (set by `inSpan`); undefined when tracing is off or none is. */
export function activeTraceparent(): string | undefined {
  if (!tracer) return undefined;
  const span = trace.getActiveSpan();
  return span ? traceparentOf(span) : undefined;
}

/**
 * Runs `fn` in a new span of kind `kind`, the child of the span `parent` (a W3C traceparent) names,
 * or a root span without one; the span is active while `fn` runs (`activeTraceparent`), ends when
 * its promise settles, and records the error it rejects with. Tracing off: `fn(undefined)`, nothing
 * else. Set attributes only when `span?.isRecording()` (a sampled-out span records nothing).
 */
export function inSpan<T>(
  name: string,
  parent: string | undefined,
  kind: SpanKind,
  fn: (span: Span | undefined) => Promise<T>,
  attributes?: () => Attributes,
): Promise<T> {
  if (!tracer) return fn(undefined);
  const span = tracer.startSpan(name, { kind }, contextOf(parent));
  if (attributes && span.isRecording()) span.setAttributes(attributes());
  return context.with(trace.setSpan(ROOT_CONTEXT, span), async () => {
    try {
      return await fn(span);
    } catch (err) {
      if (span.isRecording()) {
        span.recordException(err instanceof Error ? err : String(err));
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: err instanceof Error ? err.message : String(err),
        });
      }
      throw err;
    } finally {
      span.end();
    }
  });
}

/** The messaging attributes of a NATS publish (OpenTelemetry messaging conventions). */
export function publishAttributes(subject: string, msgId: string, sagaId: string): Attributes {
  return {
    'messaging.system': 'nats',
    'messaging.operation.type': 'send',
    'messaging.operation.name': 'publish',
    'messaging.destination.name': subject,
    'messaging.message.id': msgId,
    'saga.id': sagaId,
  };
}
