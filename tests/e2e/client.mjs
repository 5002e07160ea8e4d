// client.mjs - what the end-to-end flows share: the jmap-jam client for a
// user of the private Dovecot, mail delivered from outside the gateway
// (LMTP straight into Dovecot, as an MTA would), and small lookups.
//
// test_e2e.c sets the environment: JMAPGW_E2E_SESSION_URL,
// JMAPGW_E2E_MODULES (the private node_modules holding jmap-jam),
// JMAPGW_E2E_LMTP_PORT, JMAPGW_E2E_SMTP (1: a submission server is up),
// JMAPGW_E2E_DOMAIN.
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import net from "node:net";
import path from "node:path";
import { pathToFileURL } from "node:url";

function need(name) {
  const v = process.env[name];
  assert.ok(v, `${name} is not set: run this through test_e2e (ctest -R e2e)`);
  return v;
}

export const SESSION_URL = need("JMAPGW_E2E_SESSION_URL");
export const DOMAIN = need("JMAPGW_E2E_DOMAIN");
export const HAVE_SMTP = need("JMAPGW_E2E_SMTP") === "1";
const LMTP_PORT = Number(need("JMAPGW_E2E_LMTP_PORT"));

export const USERS = {
  demo: { login: "demo", password: "demo", email: `demo@${DOMAIN}` },
  alice: { login: "alice", password: "alice", email: `alice@${DOMAIN}` },
};

export const MAIL = "urn:ietf:params:jmap:mail";
export const SUBMISSION = "urn:ietf:params:jmap:submission";
export const CORE = "urn:ietf:params:jmap:core";

// jmap-jam lives in the private node_modules, not beside this file.
const requireFromModules = createRequire(path.join(need("JMAPGW_E2E_MODULES"), "..", "index.js"));
export const { default: JamClient } = await import(
  pathToFileURL(requireFromModules.resolve("jmap-jam")).href
);

// jmap-jam sends "Authorization: Bearer <token>"; the gateway's token is
// the same base64(login:password) a Basic client sends.
export function connect(user) {
  const token = Buffer.from(`${user.login}:${user.password}`).toString("base64");
  return new JamClient({ sessionUrl: SESSION_URL, bearerToken: token });
}

// The session plus the account id of the mail capability.
export async function openAccount(jam) {
  const session = await jam.session;
  const accountId = await jam.getPrimaryAccount();
  assert.equal(typeof accountId, "string", `no primary mail account: ${JSON.stringify(session)}`);
  return { session, accountId };
}

// {role: mailbox} for every mailbox with a role, plus all of them by name.
export async function mailboxesByRole(jam, accountId) {
  const [res] = await jam.api.Mailbox.get({ accountId, ids: null });
  const byRole = {};
  for (const m of res.list) if (m.role) byRole[m.role] = m;
  return { byRole, list: res.list, state: res.state };
}

// Email ids of a mailbox matching a subject, newest first.
export async function findBySubject(jam, accountId, mailboxId, subject) {
  const [res] = await jam.api.Email.query({
    accountId,
    filter: { inMailbox: mailboxId, subject },
    sort: [{ property: "receivedAt", isAscending: false }],
  });
  return res.ids;
}

// Polls fn (bounded) until it returns a truthy value; the last value.
export async function eventually(fn, { tries = 60, delayMs = 250 } = {}) {
  let v;
  for (let i = 0; i < tries; i++) {
    v = await fn();
    if (v) return v;
    await new Promise((r) => setTimeout(r, delayMs));
  }
  return v;
}

// A unique token for subjects and Message-IDs of this run.
export function unique(what) {
  return `${what}-${process.pid}-${Date.now().toString(36)}`;
}

// Delivers message (a string with CRLF line ends) to rcpt over LMTP, the
// way Postfix hands mail to Dovecot. Resolves once Dovecot accepted it.
export function lmtpDeliver(from, rcpt, message) {
  const dotted = message.replace(/^\./gm, "..");
  const steps = [
    [null, 220],
    [`LHLO e2e.${DOMAIN}`, 250],
    [`MAIL FROM:<${from}>`, 250],
    [`RCPT TO:<${rcpt}>`, 250],
    ["DATA", 354],
    [`${dotted}${dotted.endsWith("\r\n") ? "" : "\r\n"}.`, 250],
    ["QUIT", 221],
  ];
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: "127.0.0.1", port: LMTP_PORT });
    let buf = "";
    let step = 0;
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`LMTP timed out at step ${step}`));
    }, 10000);
    const fail = (e) => {
      clearTimeout(timer);
      sock.destroy();
      reject(e);
    };
    sock.on("error", fail);
    sock.on("data", (chunk) => {
      buf += chunk.toString("utf8");
      // A reply ends with a line "NNN text" (no dash after the code).
      for (;;) {
        const m = /^(\d{3}) .*\r\n/m.exec(buf);
        if (!m) return;
        buf = buf.slice(m.index + m[0].length);
        const want = steps[step][1];
        if (Number(m[1]) !== want) return fail(new Error(`LMTP step ${step}: ${m[0].trim()}`));
        step++;
        if (step === steps.length) {
          clearTimeout(timer);
          sock.end();
          return resolve();
        }
        sock.write(`${steps[step][0]}\r\n`);
      }
    });
  });
}

// Base64 with lines of 76 characters, for a MIME body.
export function base64Lines(bytes) {
  return Buffer.from(bytes).toString("base64").replace(/.{1,76}/g, "$&\r\n");
}
