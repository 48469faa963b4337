import type { Db } from 'mongodb';

/** One SKU's stock; see index.ts for how orders move it and receive.ts for how receipts add to it. */
export interface StockDoc {
  _id: string;
  available: number;
  /** Live holds: order id -> quantity. Only orders neither committed nor released. */
  holds: Record<string, number>;
  /** The token of the reserve run that took each live hold: order id -> token. */
  holders?: Record<string, string>;
  /** Units sold: holds of committed orders end here (absent until the first commit). */
  committed?: number;
  /** Units received so far (absent until the first receipt): only grows, so receipts key on it. */
  received?: number;
  /** Receipts added but not yet marked applied: receipt id -> quantity (see receive.ts). */
  receipts?: Record<string, number>;
}

export const stock = (db: Db) => db.collection<StockDoc>('inventory_stock');
