// TAP output for the node scripts the regress tests run: ok() prints
// one line per check, step() reports a check that threw, done() ends
// the plan and exits 1 when anything failed.
let n = 0
let failed = 0

export function ok(cond, desc, why) {
  n++
  if (cond) {
    console.log(`ok ${n} - ${desc}`)
  } else {
    failed++
    console.log(`not ok ${n} - ${desc}`)
    if (why !== undefined) console.log(`# ${JSON.stringify(why)}`)
  }
}

export async function step(desc, fn) {
  try {
    await fn()
  } catch (e) {
    ok(false, desc, `${e.status ?? ''} ${e.error ?? ''} ${e.message} ${e.stack}`)
  }
}

export function done() {
  console.log(`1..${n}`)
  process.exit(failed === 0 ? 0 : 1)
}
