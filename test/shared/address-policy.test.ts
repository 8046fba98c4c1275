// The outbound address policy on its own (CONTRACT "Outbound URLs"):
// which addresses and URLs each reach refuses. No connection is made here.
import t from 'tap'
import { deliveryReach, refusedAddress, refusedUrl } from '../../src/shared/address-policy.ts'

// address → what `public` says, what `private` says (undefined = allowed)
const table: Array<[string, RegExp | undefined, RegExp | undefined]> = [
  ['8.8.8.8', undefined, undefined],
  ['2606:4700::1111', undefined, undefined],
  ['::ffff:8.8.8.8', undefined, undefined],
  ['64:ff9b::808:808', undefined, undefined],
  ['127.0.0.1', /^a loopback address; .*MAILSLOT_WEBHOOK_ALLOW_PRIVATE=true/, undefined],
  ['127.9.9.9', /loopback/, undefined],
  ['::1', /loopback/, undefined],
  ['10.0.0.1', /^a private address/, undefined],
  ['172.16.5.4', /private/, undefined],
  ['192.168.1.1', /private/, undefined],
  ['fc00::1', /private/, undefined],
  ['fd12:3456::1', /private/, undefined],
  ['100.64.0.1', /CGNAT/, undefined],
  ['::ffff:127.0.0.1', /loopback/, undefined],
  ['::ffff:10.1.2.3', /private/, undefined],
  ['::7f00:1', /loopback/, undefined],
  ['192.0.2.1', /non-public/, undefined],
  ['169.254.169.254', /^a link-local address$/, /^a link-local address$/],
  ['169.254.1.1', /link-local/, /link-local/],
  ['fe80::1', /link-local/, /link-local/],
  ['::ffff:169.254.169.254', /link-local/, /link-local/],
  ['64:ff9b::a9fe:a9fe', /link-local/, /link-local/],
  ['2002:a9fe:a9fe::1', /link-local/, /link-local/],
  ['fd00:ec2::254', /metadata/, /metadata/],
  ['100.100.100.200', /metadata/, /metadata/],
  ['0.0.0.0', /unspecified/, /unspecified/],
  ['0.1.2.3', /unspecified/, /unspecified/],
  ['::', /unspecified/, /unspecified/],
  ['224.0.0.1', /multicast/, /multicast/],
  ['ff02::1', /multicast/, /multicast/],
  ['255.255.255.255', /broadcast/, /broadcast/]
]

t.test('addresses: public refuses all but public unicast; private refuses link-local, metadata, unspecified, multicast', async t => {
  for (const [address, pub, priv] of table) {
    const p = refusedAddress(address, 'public')
    const q = refusedAddress(address, 'private')
    if (pub === undefined) t.equal(p, undefined, `${address} public: allowed`)
    else t.match(p, pub, `${address} public: ${p}`)
    if (priv === undefined) t.equal(q, undefined, `${address} private: allowed`)
    else t.match(q, priv, `${address} private: ${q}`)
  }
})

t.test('URLs: literal addresses in any spelling and localhost names are refused at once; other names wait for their lookup', async t => {
  t.match(refusedUrl('http://2130706433/x', 'public'), /^127\.0\.0\.1 is a loopback address/, 'a decimal IPv4 is normalised first')
  t.match(refusedUrl('http://0x7f.1/x', 'public'), /^127\.0\.0\.1 is a loopback/)
  t.match(refusedUrl('http://[::ffff:127.0.0.1]:8080/', 'public'), /loopback/)
  t.match(refusedUrl('http://LocalHost./hook', 'public'), /^localhost\. is a loopback name/)
  t.match(refusedUrl('https://a.b.localhost/hook', 'public'), /loopback name/)
  t.equal(refusedUrl('http://localhost:8080/', 'private'), undefined)
  t.match(refusedUrl('http://user:pw@[fe80::1]/', 'private'), /^fe80::1 is a link-local address$/)
  t.equal(refusedUrl('https://hooks.example.com/x', 'public'), undefined)
  t.equal(refusedUrl('https://metadata.google.internal/', 'private'), undefined, 'names are judged on what they resolve to')
})

t.test('reach per delivery kind', async t => {
  t.equal(deliveryReach('webhook', false), 'public')
  t.equal(deliveryReach('webhook', true), 'private')
  t.equal(deliveryReach('gitlab', false), 'private')
})
