// Reading a property of a value whose type nothing vouches for (a thrown
// value, a worker's workerData, input no schema has validated yet): type
// guards, not casts, so a value of another shape reads as undefined.

/** The property `name` of `value` when it is an object that has it. */
export function fieldOf (value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null && name in value ? Reflect.get(value, name) : undefined
}

/** The property as a string, or undefined (e.g. an error's `code`). */
export function stringField (value: unknown, name: string): string | undefined {
  const field = fieldOf(value, name)
  return typeof field === 'string' ? field : undefined
}
