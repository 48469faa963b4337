import { z } from 'zod';
import { defineSettings } from 'jetsaga';

const day = 86_400_000;
const idText = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ or -, at most 64');

/**
 * The restock agent's settings, in jetsaga's table (`jetsaga help` lists them). A bad value stops
 * the role with the variable at fault and what it accepts.
 */
export const restockAgentSettings = defineSettings({
  dayMs: {
    env: 'JETSAGA_RESTOCK_DAY_MS',
    schema: z.coerce.number().int().min(100).max(day).default(day),
    help: "the length of one demand day in ms (the model's unit of time; a demo shortens it)",
  },
  leadTimeDays: {
    env: 'JETSAGA_RESTOCK_LEAD_TIME_DAYS',
    schema: z.coerce.number().int().min(1).max(90).default(7),
    help: "the supplier's lead time in days: a restock placed now arrives within it",
  },
  supplier: {
    env: 'JETSAGA_RESTOCK_SUPPLIER',
    schema: idText.default('acme'),
    help: 'the supplier restocks are ordered from',
  },
  unitCost: {
    env: 'JETSAGA_RESTOCK_UNIT_COST',
    schema: z.coerce.number().nonnegative().max(1_000_000).default(1),
    help: "the cost of one unit (the restock saga's approval threshold compares qty x unit cost)",
  },
  historyDays: {
    env: 'JETSAGA_RESTOCK_HISTORY_DAYS',
    schema: z.coerce.number().int().min(28).max(1_000).default(182),
    help: 'days of sales the forecast reads; older sale records are deleted',
  },
  minHistoryDays: {
    env: 'JETSAGA_RESTOCK_MIN_HISTORY_DAYS',
    schema: z.coerce.number().int().min(7).max(365).default(14),
    help: 'days since the first sale of a SKU before the agent recommends for it (too little to forecast before)',
  },
  forecastEveryMs: {
    env: 'JETSAGA_RESTOCK_FORECAST_EVERY_MS',
    schema: z.coerce.number().int().min(1_000).default(3_600_000),
    help: "how often each SKU's forecast and reorder point are computed again",
  },
});

export type RestockAgentConfig = ReturnType<typeof restockAgentSettings.load>;

/** The settings from `env` and the flags in `argv` (the process's by default), `overrides` winning. */
export function loadRestockAgentConfig(
  env: Record<string, string | undefined> = process.env,
  overrides: Partial<RestockAgentConfig> = {},
  argv: readonly string[] = env === process.env ? process.argv.slice(2) : [],
): RestockAgentConfig {
  return { ...restockAgentSettings.load(env, argv), ...overrides };
}
