/** A seeded PRNG (mulberry32): the same seed gives the same schedule and emails. */
export interface Rng {
  /** [0, 1) */
  next: () => number
  /** an integer in [min, max] */
  int: (min: number, max: number) => number
  /** a number in [min, max) */
  between: (min: number, max: number) => number
  pick: <T>(items: readonly T[]) => T
}

export function createRng (seed: number): Rng {
  let a = seed >>> 0
  const next = (): number => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    between: (min, max) => min + next() * (max - min),
    pick: items => items[Math.floor(next() * items.length)]
  }
}
