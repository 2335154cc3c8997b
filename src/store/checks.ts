// Argument checking is written once per store method (next to its interface)
// and applied in front of whichever backend is open, so both backends refuse
// exactly the same input with exactly the same message.

type Method = (...args: never[]) => unknown;

/** For every method: a function that validates and normalises its arguments. */
export type ArgChecks<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => unknown ? (...args: A) => A : never;
};

/** Returns a view of `target` whose methods run their check first. */
export function withChecks<T extends object>(target: T, checks: ArgChecks<T>): T {
  const out = {} as Record<string, Method>;
  for (const key of Object.keys(checks) as (keyof T & string)[]) {
    const check = checks[key] as unknown as (...a: unknown[]) => unknown[];
    const method = (target[key] as unknown as (...a: unknown[]) => unknown).bind(target);
    out[key] = ((...args: unknown[]) => {
      let checked: unknown[];
      try {
        checked = check(...args);
      } catch (e) {
        return Promise.reject(e);
      }
      return method(...checked);
    }) as Method;
  }
  return out as unknown as T;
}
