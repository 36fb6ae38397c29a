// HTTP-date, RFC 9110 §5.6.7: IMF-fixdate, and the two obsolete formats a
// recipient must still accept (rfc850-date, asctime-date). All are GMT.
// Anything else is not a date: the header carrying it is ignored.
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const MONTH = `(${MONTHS.join('|')})`
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})'
const IMF_FIXDATE = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`)
const RFC850_DATE = new RegExp(`^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`)
const ASCTIME_DATE = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`)

/** Milliseconds since the epoch, or undefined when the value is not an HTTP-date. */
export function parseHttpDate (value: string | string[] | undefined, now = new Date()): number | undefined {
  if (typeof value !== 'string') return undefined
  const text = value.trim()
  let match = IMF_FIXDATE.exec(text)
  if (match) return toTime(Number(match[3]), match[2]!, match[1]!, match.slice(4, 7))
  match = RFC850_DATE.exec(text)
  if (match) {
    // A two-digit year more than 50 years ahead means the previous century.
    const year = 2000 + Number(match[3])
    return toTime(year > now.getUTCFullYear() + 50 ? year - 100 : year, match[2]!, match[1]!, match.slice(4, 7))
  }
  match = ASCTIME_DATE.exec(text)
  if (match) return toTime(Number(match[6]), match[1]!, match[2]!.trim(), match.slice(3, 6))
  return undefined
}

function toTime (year: number, month: string, day: string, [hours, minutes, seconds]: string[]): number | undefined {
  const monthIndex = MONTHS.indexOf(month)
  const time = Date.UTC(year, monthIndex, Number(day), Number(hours), Number(minutes), Number(seconds))
  const date = new Date(time)
  // Reject what Date.UTC would roll over: 31 Feb, 25:00, 60 minutes.
  const valid = date.getUTCFullYear() === year && date.getUTCMonth() === monthIndex && date.getUTCDate() === Number(day) &&
    date.getUTCHours() === Number(hours) && date.getUTCMinutes() === Number(minutes) && date.getUTCSeconds() === Number(seconds)
  return valid ? time : undefined
}
