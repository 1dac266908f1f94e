import { Set as ImmutableSet } from "immutable";

/**
 * The payment ids a booking has recorded, in the order they were recorded. Values are
 * persistent: `add` returns a new one and leaves the old one as it was. Adding, looking up
 * and listing cost the same on a booking's thousandth payment as on its first, apart from
 * the list's own length.
 *
 * Two structures, each for one use:
 * - The order is one plain array shared by a value and the values made from it, each of
 *   which reads only its first `count` entries. `add` on the newest value pushes onto the
 *   array; `add` on an older one (whose successor was dropped, e.g. after a conflicting
 *   append) copies its own part first. Listing the ids, which every snapshot does, is then a
 *   slice: on a booking of 10,000 payments, a snapshot's JSON took ~8 ms when the order
 *   was read back out of a map and sorted, once every 100 events (bench/HISTORY.md,
 *   eleventh round).
 * - Look-ups use a persistent set. Adding to it copies its path, ~1.2 KB per add on a set of
 *   50–2,000; the cache keeps each booking's latest state until its next command, long
 *   enough for V8 to promote it, so each payment left that much for the major collections.
 *   So the newest ids (at most RECENT_LIMIT, the array's last entries) stay out of the set
 *   and `has` reads them in the array; they go into the set in one batch (sixth round).
 */
export class PaymentIds implements Iterable<string> {
  /** Most ids kept out of the set; `has` reads at most this many array entries. */
  static readonly RECENT_LIMIT = 32;

  static readonly none = new PaymentIds(ImmutableSet(), 0, [], 0);

  /** The ids in the order given; a repeated id keeps its first place. */
  static of(ids: Iterable<string>): PaymentIds {
    const inOrder: string[] = [];
    const known = ImmutableSet<string>().withMutations((set) => {
      for (const id of ids) {
        if (set.has(id)) continue;
        set.add(id);
        inOrder.push(id);
      }
    });
    return new PaymentIds(known, 0, inOrder, inOrder.length);
  }

  private constructor(
    /** Every id of this value but the last `recentCount`. */
    private readonly known: ImmutableSet<string>,
    private readonly recentCount: number,
    /** This value's ids are the first `count` entries; later values may have pushed more. */
    private readonly inOrder: string[],
    private readonly count: number,
  ) {}

  get size(): number {
    return this.count;
  }

  has(id: string): boolean {
    for (let i = this.count - this.recentCount; i < this.count; i++) if (this.inOrder[i] === id) return true;
    return this.known.has(id);
  }

  /** These ids and `id` after them (the same value when `id` is among them already). */
  add(id: string): PaymentIds {
    if (this.has(id)) return this;
    const inOrder = this.inOrder.length === this.count ? this.inOrder : this.inOrder.slice(0, this.count);
    inOrder.push(id);
    const count = this.count + 1;
    if (this.recentCount < PaymentIds.RECENT_LIMIT) return new PaymentIds(this.known, this.recentCount + 1, inOrder, count);
    const known = this.known.withMutations((set) => {
      for (let i = count - 1 - this.recentCount; i < count; i++) set.add(inOrder[i]);
    });
    return new PaymentIds(known, 0, inOrder, count);
  }

  [Symbol.iterator](): Iterator<string> {
    return this.toJSON()[Symbol.iterator]();
  }

  /** A snapshot holds the ids as a JSON array, in order. */
  toJSON(): string[] {
    return this.inOrder.slice(0, this.count);
  }
}
