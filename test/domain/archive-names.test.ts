// Names inside archives: readable, unique ignoring case, never a path.
import t from 'tap'
import { ArchiveNames } from '../../src/domain/archive-names.js'

t.test('repeats are numbered before the extension, ignoring case; reserved names are never given', async (t) => {
  const names = new ArchiveNames(['manifest.json'])
  t.same(['a.png', 'A.PNG', 'a.png', 'manifest.json', 'README', 'readme'].map((name) => names.take('', name)),
    ['a.png', 'A (2).PNG', 'a (3).png', 'manifest (2).json', 'README', 'readme (2)'])
})

t.test('no folders, no climbing out, nothing Windows refuses, never empty', async (t) => {
  const names = new ArchiveNames()
  t.same(['../../etc/passwd', 'a\\b:c*?.txt', '...', ' .hidden ', 'tab\there.txt', ''].map((name) => names.take('', name)),
    ['_.._etc_passwd', 'a_b_c__.txt', 'file', 'hidden', 'tab_here.txt', 'file (2)'])
  t.equal(names.take('d-1', 'x.txt'), 'd-1/x.txt', 'a folder when asked for one')
})

t.test('long names are cut by code points, keeping the extension', async (t) => {
  const name = new ArchiveNames().take('', `${'😀'.repeat(300)}.jpeg`)
  t.equal([...name].length, 180)
  t.ok(name.endsWith('😀.jpeg'), 'no half emoji, extension kept')
})
