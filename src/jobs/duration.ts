const UNITS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const

/** "30m", "24h", "7d" (also "90s") in milliseconds; undefined when malformed. */
export function parseDuration (text: string): number | undefined {
  const match = /^([1-9]\d{0,5})([smhd])$/.exec(text.trim())
  return match ? Number(match[1]) * UNITS[match[2] as keyof typeof UNITS] : undefined
}
