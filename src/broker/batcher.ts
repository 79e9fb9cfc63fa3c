/**
 * Collects work submitted within one tick and hands it over as one batch, so that many sends
 * share a single transaction (and a single fsync). Batches run one at a time, in submission
 * order, which is also what keeps message ids and pushes in the same order.
 */
export type BatchOutcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

export class Batcher<T, R> {
  private pending: Array<{ item: T; resolve: (value: R) => void; reject: (error: unknown) => void }> = [];
  private running = false;

  constructor(
    private readonly run: (items: T[]) => Promise<Array<BatchOutcome<R>>>,
    /** Most items handed over in one batch; the rest wait for the next. */
    private readonly maxBatch: number,
  ) {}

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (!this.running) {
        this.running = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.maxBatch);
      try {
        const outcomes = await this.run(batch.map((entry) => entry.item));
        batch.forEach((entry, i) => {
          const outcome = outcomes[i]!;
          if (outcome.ok) entry.resolve(outcome.value);
          else entry.reject(outcome.error);
        });
      } catch (error) {
        for (const entry of batch) entry.reject(error);
      }
    }
    this.running = false;
  }
}
