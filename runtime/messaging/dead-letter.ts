import { z } from 'zod';

/** What a dead letter keeps: enough to understand the failure and to replay the original. */
export const DeadLetterSchema = z.object({
  id: z.string(),
  consumer: z.string(),
  stream: z.string(),
  streamSeq: z.number().int(),
  subject: z.string(),
  headers: z.record(z.string(), z.string()),
  payload: z.string(),
  reason: z.string(),
  error: z.string(),
  attempts: z.number().int(),
  at: z.string(),
});
export type DeadLetter = z.infer<typeof DeadLetterSchema>;

export function deadLetterId(stream: string, seq: number): string {
  return `${stream}-${seq}`;
}
