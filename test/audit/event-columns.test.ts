// The audit's column store: what goes in comes out as the same rows, in
// order, past its initial size, after the oldest are dropped, and again
// after the columns were emptied and reused.
import t from 'tap'
import { EventColumns } from '../../src/audit/event-columns.js'
import type { Access } from '../../src/audit/recorder.js'
import { encodeEvent } from '../../src/db/access-log.js'

const accessOf = (i: number): Access => ({
  attachmentId: `a-${i}`,
  dialogId: `d-${i % 7}`,
  variant: i % 2 === 0 ? 'original' : 'preview:320:webp',
  viewer: `user-${i}`,
  grantedBy: 'owner',
  tokenSource: i % 3 === 0 ? 'cookie' : 'header',
  clientAddress: `10.0.0.${i % 250}`
})
const clientHash = (i: number) => i % 5 === 0 ? null : `h-${i}`
const status = (i: number) => i % 4 === 0 ? 206 : 200
const at = (i: number) => 1_796_000_000_000 + i
/** The row written for read i, as encoded for the INSERT. */
const event = (i: number) => {
  const { clientAddress: _address, ...access } = accessOf(i)
  return encodeEvent({ ...access, clientHash: clientHash(i), status: status(i), bytes: i * 1_000_003, count: 1, at: at(i) })
}
const push = (columns: EventColumns, i: number) => columns.push(accessOf(i), clientHash(i), status(i), i * 1_000_003, at(i))

t.test('rows come out as they went in, in order, past the initial size', async (t) => {
  const columns = new EventColumns()
  for (let i = 0; i < 1000; i++) push(columns, i)
  t.equal(columns.length, 1000)
  t.same(columns.take(), Array.from({ length: 1000 }, (_, i) => event(i)))
  t.equal(columns.length, 0, 'empty after')
  t.same(columns.take(), [])
})

t.test('dropOldest keeps the newest; the columns are reused after take', async (t) => {
  const columns = new EventColumns()
  for (let i = 0; i < 10; i++) push(columns, i)
  columns.dropOldest(4)
  t.equal(columns.length, 6)
  push(columns, 10)
  t.same(columns.take(), [4, 5, 6, 7, 8, 9, 10].map(event))
  for (let i = 20; i < 23; i++) push(columns, i)
  columns.dropOldest(100)
  t.equal(columns.length, 0, 'dropping more than there is empties it')
  push(columns, 30)
  t.same(columns.take(), [event(30)])
})
