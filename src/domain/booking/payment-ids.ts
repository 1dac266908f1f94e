import { Map as ImmutableMap } from "immutable";

/** One id added since the map was last brought up to date; newest first. */
interface Recent {
  readonly id: string;
  readonly next: Recent | undefined;
}

/**
 * The payment ids a booking has recorded, in the order they were recorded: a persistent map
 * from each id to its place in that order, plus the last few ids added, kept in a short list
 * in front of it. Adding one shares everything else and a look-up is O(log n), so a booking's
 * thousandth payment costs what its first did.
 *
 * Why the short list: adding to the map copies its path, ~1.2 KB per add on a set of 50–2,000.
 * The cache keeps each booking's latest state until its next command, long enough for V8 to
 * promote it to the old generation, so each payment left that much for the major collections
 * to sweep. An add now makes one list cell, and every RECENT_LIMIT adds the list goes into
 * the map in one batch: 0.6–0.75 KB per add in all, nearly all of it in that batch. Over gRPC
 * (RecordPayment, 64 in flight, six pairs) what a call leaves promoted fell from 2.9–5.9 KB
 * to 1.3–3.0 KB (bench/README.md, sixth round).
 *
 * Why not immutable's OrderedSet: it keeps the order in a second structure (a list beside
 * the map), which doubles what each add allocates. The order is only needed to list the ids,
 * which sorts them (O(n log n), rare).
 */
export class PaymentIds implements Iterable<string> {
  /** Most ids kept in the list before they go into the map; `has` reads at most this many. */
  static readonly RECENT_LIMIT = 32;

  static readonly none = new PaymentIds(ImmutableMap(), undefined, 0);

  /** The ids in the order given; a repeated id keeps its first place. */
  static of(ids: Iterable<string>): PaymentIds {
    return new PaymentIds(
      ImmutableMap<string, number>().withMutations((order) => {
        for (const id of ids) if (!order.has(id)) order.set(id, order.size);
      }),
      undefined,
      0,
    );
  }

  private constructor(
    private readonly order: ImmutableMap<string, number>,
    private readonly recent: Recent | undefined,
    private readonly recentCount: number,
  ) {}

  get size(): number {
    return this.order.size + this.recentCount;
  }

  has(id: string): boolean {
    for (let r = this.recent; r !== undefined; r = r.next) if (r.id === id) return true;
    return this.order.has(id);
  }

  /** These ids and `id` after them (the same ids when `id` is among them already). */
  add(id: string): PaymentIds {
    if (this.has(id)) return this;
    if (this.recentCount < PaymentIds.RECENT_LIMIT) return new PaymentIds(this.order, { id, next: this.recent }, this.recentCount + 1);
    const order = this.order.withMutations((map) => {
      for (const recent of this.recentOldestFirst()) map.set(recent, map.size);
      map.set(id, map.size);
    });
    return new PaymentIds(order, undefined, 0);
  }

  [Symbol.iterator](): Iterator<string> {
    return [...this.order]
      .sort((a, b) => a[1] - b[1])
      .map(([id]) => id)
      .concat(this.recentOldestFirst())
      [Symbol.iterator]();
  }

  /** A snapshot holds the ids as a JSON array, in order. */
  toJSON(): string[] {
    return [...this];
  }

  private recentOldestFirst(): string[] {
    const ids: string[] = [];
    for (let r = this.recent; r !== undefined; r = r.next) ids.push(r.id);
    return ids.reverse();
  }
}
