// Subscribe to one Motia stream group (or item) with Motia's own Node client and print, one JSON
// line each, what it sees: {kind: "open"}, every raw server message {kind: "message", message}
// (printed once the client has applied it), the subscription's state after each change
// {kind: "state", state}, and custom events {kind: "event", type, data} for the types named in --events.
//
//   node watch.mjs <ws-url> <streamName> <groupId> [itemId] [--events a,b] [--key KEY] [--sort FIELD]
//
// --sort keeps a group's state ordered by that field (the client's own `sortKey`).
// --key sends a staff key the way Motia's examples do for clients that cannot set headers:
// the WebSocket subprotocols `Authorization, KEY`.
import { Stream } from '@motiadev/stream-client-node'

const args = process.argv.slice(2)
const option = (name) => {
  const i = args.indexOf(name)
  if (i < 0) return undefined
  const [, value] = args.splice(i, 2)
  return value
}
const events = (option('--events') || 'error').split(',').filter(Boolean)
const key = option('--key')
const sortKey = option('--sort')
const [url, streamName, groupId, itemId] = args
const out = (line) => process.stdout.write(JSON.stringify(line) + '\n')

const stream = new Stream(url, key ? { protocols: ['Authorization', key] } : undefined)
const handle = stream.messageListener.bind(stream)
stream.messageListener = (raw) => {
  try {
    handle(raw)
  } finally {
    // after the client applied it: a test that sees the message sees the state it led to
    out({ kind: 'message', message: JSON.parse(raw) })
  }
}
stream.ws.onOpen(() => out({ kind: 'open' }))
stream.ws.onClose(() => out({ kind: 'close' }))

const subscription = itemId ? stream.subscribeItem(streamName, groupId, itemId) : stream.subscribeGroup(streamName, groupId, sortKey)
subscription.addChangeListener((state) => out({ kind: 'state', state }))
for (const type of events) {
  subscription.onEvent(type, (data) => out({ kind: 'event', type, data }))
}

const stop = () => {
  stream.close()
  process.exit(0)
}
process.stdin.on('end', stop) // the test closes our stdin to stop us
process.stdin.resume()
process.on('SIGTERM', stop)
