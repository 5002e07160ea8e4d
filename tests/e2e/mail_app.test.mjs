// mail_app.test.mjs - what a mail app does with jmap-jam, step by step,
// against the gateway in front of the private Dovecot: session, mailbox
// list, inbox page (threads collapsed), open a message, read/flag, move
// and back, download an attachment, upload a file, save a draft with it
// and replace the draft. Every step checks content against mail that was
// delivered from outside the gateway (LMTP into Dovecot).
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";

import {
  CORE,
  JamClient,
  MAIL,
  USERS,
  base64Lines,
  connect,
  eventually,
  findBySubject,
  lmtpDeliver,
  mailboxesByRole,
  openAccount,
  unique,
} from "./client.mjs";

const TOKEN = unique("report");
const SUBJECT = `Quarterly report ${TOKEN}`;
const MSGID = `${TOKEN}@e2e.test`;
const TEXT = "Hello Demo,\n\nthe figures for Q3 are attached.\nCafé at 10?\n\nAlice\n";
const HTML = "<html><body><p>Hello Demo,</p><p>the figures for <b>Q3</b> are attached.</p></body></html>\n";
// Every byte value once, so a transfer that is not 8-bit clean shows.
const ATTACHMENT = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7) % 256));
// Spaces and non-ASCII: RFC 2231 in the message, percent-encoded by the
// client in the downloadUrl's {name}.
const ATTACHMENT_NAME = "Q3 figures – final.bin";
const REPLY_TEXT = "One more thing: the totals changed.\n";

const crlf = (s) => s.replace(/\n/g, "\r\n");

function originalMessage() {
  return crlf(
    [
      `From: Alice Example <${USERS.alice.email}>`,
      `To: Demo User <${USERS.demo.email}>`,
      `Subject: ${SUBJECT}`,
      `Message-ID: <${MSGID}>`,
      "Date: Mon, 23 Nov 2026 09:00:00 +0000",
      "MIME-Version: 1.0",
      'Content-Type: multipart/mixed; boundary="mixed-1"',
      "",
      "--mixed-1",
      'Content-Type: multipart/alternative; boundary="alt-1"',
      "",
      "--alt-1",
      "Content-Type: text/plain; charset=utf-8",
      "Content-Transfer-Encoding: 8bit",
      "",
      TEXT,
      "--alt-1",
      "Content-Type: text/html; charset=utf-8",
      "",
      HTML,
      "--alt-1--",
      "",
      "--mixed-1",
      "Content-Type: application/octet-stream",
      `Content-Disposition: attachment; filename*=utf-8''${encodeURIComponent(ATTACHMENT_NAME)}`,
      "Content-Transfer-Encoding: base64",
      "",
    ].join("\n") + "\n",
  ) + base64Lines(ATTACHMENT) + "\r\n--mixed-1--\r\n";
}

function replyMessage() {
  return crlf(
    [
      `From: Alice Example <${USERS.alice.email}>`,
      `To: Demo User <${USERS.demo.email}>`,
      `Subject: Re: ${SUBJECT}`,
      `Message-ID: <re-${MSGID}>`,
      `In-Reply-To: <${MSGID}>`,
      `References: <${MSGID}>`,
      "Date: Mon, 23 Nov 2026 09:30:00 +0000",
      "MIME-Version: 1.0",
      "Content-Type: text/plain; charset=utf-8",
      "",
      REPLY_TEXT,
    ].join("\n"),
  );
}

// Fails on any SetError in an /set response.
function assertNoSetErrors(res, what) {
  for (const k of ["notCreated", "notUpdated", "notDestroyed"]) {
    assert.ok(
      res[k] === null || res[k] === undefined || Object.keys(res[k]).length === 0,
      `${what}: ${k} ${JSON.stringify(res[k])}`,
    );
  }
}

describe("a mail app on jmap-jam", () => {
  const jam = connect(USERS.demo);
  let accountId;
  let boxes; // role -> Mailbox
  let original; // the delivered Email's id
  let reply;
  let attachment; // EmailBodyPart of the delivered attachment
  let uploaded; // the upload response
  let draftId;
  let pageState; // the inbox page's queryState, for the refresh
  let threadId; // the delivered thread's

  before(async () => {
    await lmtpDeliver(USERS.alice.email, USERS.demo.email, originalMessage());
    // receivedAt has second precision: the reply is the newer one.
    await new Promise((r) => setTimeout(r, 1100));
    await lmtpDeliver(USERS.alice.email, USERS.demo.email, replyMessage());
  });

  it("loads the session: capabilities, the account, URLs", async () => {
    const { session, accountId: id } = await openAccount(jam);
    accountId = id;
    assert.ok(session.capabilities[CORE], "core capability");
    assert.ok(session.capabilities[MAIL] !== undefined, "mail capability");
    assert.ok(session.capabilities[CORE].maxObjectsInGet > 0);
    const account = session.accounts[accountId];
    assert.ok(account, "the primary account is listed");
    assert.equal(account.isPersonal, true);
    assert.ok(account.accountCapabilities[MAIL], "mail account capability");
    assert.equal(session.username, USERS.demo.login);
    for (const u of ["apiUrl", "downloadUrl", "uploadUrl"])
      assert.match(session[u], /^http:\/\/127\.0\.0\.1:\d+\//, u);
    assert.equal(typeof session.state, "string");
  });

  it("a wrong password gets a problem document, not a session", async () => {
    const bad = connect({ ...USERS.demo, password: "not-the-password" });
    const answer = await bad.session;
    assert.ok(JamClient.isProblemDetails(answer), JSON.stringify(answer));
    assert.equal(answer.status, 401);
    assert.equal(answer.accounts, undefined);
  });

  it("lists the mailboxes with their roles", async () => {
    const { byRole, list } = await mailboxesByRole(jam, accountId);
    boxes = byRole;
    for (const role of ["inbox", "drafts", "sent", "trash"])
      assert.ok(byRole[role], `a mailbox with role ${role}: ${JSON.stringify(list.map((m) => [m.name, m.role]))}`);
    assert.ok(byRole.inbox.name.length > 0);
    assert.ok(byRole.inbox.totalEmails >= 2, "the two delivered Emails are counted");
    assert.ok(byRole.inbox.unreadEmails >= 2, "and they are unread");
    for (const m of list) {
      assert.equal(typeof m.id, "string");
      assert.ok(m.myRights && m.myRights.mayReadItems === true, `${m.name}: myRights`);
    }
  });

  it("loads the first screen with parallel requests (maxConcurrentRequests of them)", async () => {
    const session = await jam.session;
    const n = session.capabilities[CORE].maxConcurrentRequests;
    assert.ok(n >= 1);
    const calls = Array.from({ length: n }, (_, i) =>
      i % 2 === 0
        ? jam.api.Mailbox.get({ accountId, ids: [boxes.inbox.id], properties: ["totalEmails"] })
        : jam.api.Email.query({ accountId, filter: { inMailbox: boxes.inbox.id }, limit: 5 }),
    );
    const answers = await Promise.all(calls);
    answers.forEach(([res], i) => {
      if (i % 2 === 0) assert.equal(res.list[0].totalEmails, boxes.inbox.totalEmails);
      else assert.equal(res.ids.length, Math.min(5, boxes.inbox.totalEmails));
    });
  });

  it("shows the inbox page, newest first, one row per thread", async () => {
    const [{ page, emails, threads }] = await jam.requestMany((t) => {
      const page = t.Email.query({
        accountId,
        filter: { inMailbox: boxes.inbox.id },
        sort: [{ property: "receivedAt", isAscending: false }],
        collapseThreads: true,
        position: 0,
        limit: 20,
        calculateTotal: true,
      });
      const emails = t.Email.get({
        accountId,
        ids: page.$ref("/ids"),
        properties: ["id", "threadId", "mailboxIds", "keywords", "from", "subject", "receivedAt",
          "preview", "hasAttachment", "size"],
      });
      const threads = t.Thread.get({ accountId, ids: emails.$ref("/list/*/threadId") });
      return { page, emails, threads };
    });
    assert.ok(page.ids.length > 0 && page.ids.length <= 20);
    assert.equal(page.position, 0);
    assert.ok(page.total >= page.ids.length);
    pageState = page.queryState;
    assert.deepEqual(emails.list.map((e) => e.id), page.ids, "Email/get keeps the query's order");
    const times = emails.list.map((e) => Date.parse(e.receivedAt));
    for (let i = 1; i < times.length; i++) assert.ok(times[i - 1] >= times[i], "receivedAt descending");
    const threadIds = emails.list.map((e) => e.threadId);
    assert.equal(new Set(threadIds).size, threadIds.length, "no thread twice on a collapsed page");

    // Our thread shows once, as its newest message: the reply.
    const row = emails.list.find((e) => e.subject === `Re: ${SUBJECT}`);
    assert.ok(row, `the reply heads its thread: ${JSON.stringify(emails.list.map((e) => e.subject))}`);
    assert.equal(emails.list.filter((e) => e.subject === SUBJECT).length, 0, "the original is collapsed");
    assert.equal(row.from[0].email, USERS.alice.email);
    assert.equal(row.from[0].name, "Alice Example");
    assert.equal(row.hasAttachment, false);
    assert.deepEqual(row.keywords, {});
    assert.deepEqual(row.mailboxIds, { [boxes.inbox.id]: true });
    assert.ok(row.preview.startsWith("One more thing"), row.preview);
    reply = row.id;

    const thread = threads.list.find((th) => th.id === row.threadId);
    assert.ok(thread, "Thread/get answers for the page's threads");
    assert.equal(thread.emailIds.length, 2, JSON.stringify(thread));
    assert.equal(thread.emailIds[1], reply, "a thread lists its Emails oldest first");
    original = thread.emailIds[0];
    threadId = thread.id;
    assert.equal(threads.notFound.length, 0);
  });

  it("opens a message: headers, text and HTML bodies, the attachment", async () => {
    const [res] = await jam.api.Email.get({
      accountId,
      ids: [original],
      properties: ["id", "subject", "from", "to", "messageId", "sentAt", "receivedAt", "keywords",
        "hasAttachment", "preview", "textBody", "htmlBody", "attachments", "bodyValues"],
      fetchTextBodyValues: true,
      fetchHTMLBodyValues: true,
    });
    assert.equal(res.list.length, 1);
    const e = res.list[0];
    assert.equal(e.subject, SUBJECT);
    assert.deepEqual(e.messageId, [MSGID]);
    assert.deepEqual(e.to, [{ name: "Demo User", email: USERS.demo.email }]);
    assert.equal(Date.parse(e.sentAt), Date.parse("2026-11-23T09:00:00Z"));
    assert.equal(e.hasAttachment, true);
    assert.ok(e.preview.startsWith("Hello Demo,"), e.preview);
    assert.equal(e.textBody.length, 1);
    assert.equal(e.textBody[0].type, "text/plain");
    assert.equal(e.htmlBody.length, 1);
    assert.equal(e.htmlBody[0].type, "text/html");
    const text = e.bodyValues[e.textBody[0].partId];
    const html = e.bodyValues[e.htmlBody[0].partId];
    assert.equal(text.value, TEXT);
    assert.equal(text.isTruncated, false);
    assert.equal(text.isEncodingProblem, false);
    assert.equal(html.value, HTML);
    assert.equal(e.attachments.length, 1);
    attachment = e.attachments[0];
    assert.equal(attachment.name, ATTACHMENT_NAME);
    assert.equal(attachment.type, "application/octet-stream");
    assert.equal(attachment.disposition, "attachment");
    assert.equal(attachment.size, ATTACHMENT.length);
  });

  it("marks it read, flags it, marks it unread again", async () => {
    const unread = async () => (await mailboxesByRole(jam, accountId)).byRole.inbox.unreadEmails;
    const unread0 = await unread();
    const [before] = await jam.api.Email.get({ accountId, ids: [], properties: ["id"] });
    const mailboxState = (await mailboxesByRole(jam, accountId)).state;

    const [set1] = await jam.api.Email.set({
      accountId,
      update: { [original]: { "keywords/$seen": true, "keywords/$flagged": true } },
    });
    assertNoSetErrors(set1, "read+flag");
    assert.ok(original in set1.updated);
    assert.notEqual(set1.newState, before.state);
    let [got] = await jam.api.Email.get({ accountId, ids: [original], properties: ["keywords"] });
    assert.deepEqual(got.list[0].keywords, { $seen: true, $flagged: true });
    assert.equal(await unread(), unread0 - 1, "the inbox counts one unread less");
    const [boxChanges] = await jam.api.Mailbox.changes({ accountId, sinceState: mailboxState });
    assert.ok(boxChanges.updated.includes(boxes.inbox.id), JSON.stringify(boxChanges));
    if (boxChanges.updatedProperties !== null)
      assert.ok(boxChanges.updatedProperties.includes("unreadEmails"), JSON.stringify(boxChanges));

    const [changes] = await jam.api.Email.changes({ accountId, sinceState: before.state });
    assert.ok(changes.updated.includes(original), JSON.stringify(changes));
    assert.equal(changes.newState, set1.newState);

    const [set2] = await jam.api.Email.set({ accountId, update: { [original]: { "keywords/$seen": null } } });
    assertNoSetErrors(set2, "unread");
    [got] = await jam.api.Email.get({ accountId, ids: [original], properties: ["keywords"] });
    assert.deepEqual(got.list[0].keywords, { $flagged: true });
    assert.equal(await unread(), unread0);

    const [flagged] = await jam.api.Email.query({
      accountId,
      filter: {
        operator: "AND",
        conditions: [{ inMailbox: boxes.inbox.id }, { hasKeyword: "$flagged" }, { subject: TOKEN }],
      },
    });
    assert.deepEqual(flagged.ids, [original], "of the thread only the flagged one");
  });

  it("moves it to a new folder and back, keeping its id and flags", async () => {
    const name = `Projects ${TOKEN}`;
    const [made] = await jam.api.Mailbox.set({ accountId, create: { proj: { name, parentId: null } } });
    assertNoSetErrors(made, "Mailbox/set create");
    const proj = made.created.proj.id;

    const [mv] = await jam.api.Email.set({
      accountId,
      update: { [original]: { [`mailboxIds/${boxes.inbox.id}`]: null, [`mailboxIds/${proj}`]: true } },
    });
    assertNoSetErrors(mv, "move");
    const [inProj] = await jam.api.Email.query({ accountId, filter: { inMailbox: proj } });
    assert.deepEqual(inProj.ids, [original], "the same id in the new folder");
    assert.deepEqual(await findBySubject(jam, accountId, boxes.inbox.id, TOKEN), [reply]);
    let [got] = await jam.api.Email.get({ accountId, ids: [original], properties: ["mailboxIds", "keywords", "subject"] });
    assert.deepEqual(got.list[0].mailboxIds, { [proj]: true });
    assert.deepEqual(got.list[0].keywords, { $flagged: true }, "flags move with it");
    const [boxes2] = await jam.api.Mailbox.get({ accountId, ids: [proj], properties: ["totalEmails", "name"] });
    assert.equal(boxes2.list[0].totalEmails, 1);
    assert.equal(boxes2.list[0].name, name);

    const [back] = await jam.api.Email.set({
      accountId,
      update: { [original]: { mailboxIds: { [boxes.inbox.id]: true } } },
    });
    assertNoSetErrors(back, "move back");
    [got] = await jam.api.Email.get({ accountId, ids: [original], properties: ["mailboxIds", "subject"] });
    assert.deepEqual(got.list[0].mailboxIds, { [boxes.inbox.id]: true });
    assert.equal(got.list[0].subject, SUBJECT);
    const ids = await findBySubject(jam, accountId, boxes.inbox.id, TOKEN);
    assert.deepEqual([...ids].sort(), [original, reply].sort());

    const [gone] = await jam.api.Mailbox.set({ accountId, destroy: [proj] });
    assertNoSetErrors(gone, "Mailbox/set destroy");
    assert.deepEqual(gone.destroyed, [proj]);
  });

  it("searches the text and shows highlighted snippets", async () => {
    const filter = { inMailbox: boxes.inbox.id, text: "figures" };
    const [{ found, snippets }] = await jam.requestMany((t) => {
      const found = t.Email.query({ accountId, filter, sort: [{ property: "receivedAt", isAscending: false }] });
      const snippets = t.SearchSnippet.get({ accountId, filter, emailIds: found.$ref("/ids") });
      return { found, snippets };
    });
    assert.ok(found.ids.includes(original), JSON.stringify(found.ids));
    assert.ok(!found.ids.includes(reply), "the reply does not mention it");
    const snip = snippets.list.find((s) => s.emailId === original);
    assert.ok(snip, JSON.stringify(snippets));
    assert.match(snip.preview, /<mark>figures<\/mark>/);
  });

  it("downloads the attachment through the downloadUrl", async () => {
    const res = await jam.downloadBlob({
      accountId,
      blobId: attachment.blobId,
      mimeType: attachment.type,
      fileName: attachment.name,
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type").split(";")[0], "application/octet-stream");
    const bytes = Buffer.from(await res.arrayBuffer());
    assert.ok(bytes.equals(ATTACHMENT), `got ${bytes.length} bytes`);
  });

  it("uploads a file", async () => {
    const file = Buffer.from(`%PDF-1.4\n% e2e ${TOKEN}\n` + "x".repeat(2000) + "\n%%EOF\n");
    uploaded = await jam.uploadBlob(accountId, new Blob([file], { type: "application/pdf" }));
    assert.equal(uploaded.accountId, accountId);
    assert.equal(typeof uploaded.blobId, "string");
    assert.equal(uploaded.type, "application/pdf");
    assert.equal(uploaded.size, file.length);
    uploaded.bytes = file;

    // Raw bytes: fetch sends no Content-Type at all.
    const raw = await jam.uploadBlob(accountId, new Uint8Array(ATTACHMENT));
    assert.equal(raw.size, ATTACHMENT.length);
    assert.equal(raw.type, "application/octet-stream");
  });

  it("saves a draft reply with the uploaded file attached", async () => {
    const [res] = await jam.api.Email.set({
      accountId,
      create: {
        draft: {
          mailboxIds: { [boxes.drafts.id]: true },
          keywords: { $draft: true, $seen: true },
          from: [{ name: "Demo User", email: USERS.demo.email }],
          to: [{ name: "Alice Example", email: USERS.alice.email }],
          subject: `Re: ${SUBJECT}`,
          inReplyTo: [MSGID],
          references: [MSGID],
          bodyValues: { body: { value: "Thanks, first draft.\n" } },
          textBody: [{ partId: "body", type: "text/plain" }],
          attachments: [{ blobId: uploaded.blobId, type: "application/pdf", name: "notes.pdf", disposition: "attachment" }],
        },
      },
    });
    assertNoSetErrors(res, "draft create");
    draftId = res.created.draft.id;
    assert.equal(typeof res.created.draft.blobId, "string");
    assert.equal(res.created.draft.threadId, threadId, "a reply joins the conversation");
    assert.ok(res.created.draft.size > uploaded.size);

    const [got] = await jam.api.Email.get({
      accountId,
      ids: [draftId],
      properties: ["mailboxIds", "keywords", "subject", "from", "to", "inReplyTo", "attachments", "textBody", "bodyValues"],
      fetchTextBodyValues: true,
    });
    const d = got.list[0];
    assert.deepEqual(d.mailboxIds, { [boxes.drafts.id]: true });
    assert.deepEqual(d.keywords, { $draft: true, $seen: true });
    assert.equal(d.subject, `Re: ${SUBJECT}`);
    assert.deepEqual(d.inReplyTo, [MSGID]);
    assert.equal(d.to[0].email, USERS.alice.email);
    assert.equal(d.bodyValues[d.textBody[0].partId].value, "Thanks, first draft.\n");
    assert.equal(d.attachments.length, 1);
    assert.equal(d.attachments[0].name, "notes.pdf");
    assert.equal(d.attachments[0].type, "application/pdf");
    assert.equal(d.attachments[0].size, uploaded.size);
    const blob = await jam.downloadBlob({
      accountId,
      blobId: d.attachments[0].blobId,
      mimeType: "application/pdf",
      fileName: "notes.pdf",
    });
    assert.ok(Buffer.from(await blob.arrayBuffer()).equals(uploaded.bytes), "the attachment round-trips");
  });

  it("replaces the draft: the new version created, the old one destroyed", async () => {
    const [res] = await jam.api.Email.set({
      accountId,
      create: {
        draft2: {
          mailboxIds: { [boxes.drafts.id]: true },
          keywords: { $draft: true, $seen: true },
          from: [{ name: "Demo User", email: USERS.demo.email }],
          to: [{ name: "Alice Example", email: USERS.alice.email }],
          subject: `Re: ${SUBJECT}`,
          bodyValues: { body: { value: "Thanks, second draft.\n" } },
          textBody: [{ partId: "body", type: "text/plain" }],
          attachments: [{ blobId: uploaded.blobId, type: "application/pdf", name: "notes.pdf" }],
        },
      },
      destroy: [draftId],
    });
    assertNoSetErrors(res, "draft replace");
    assert.deepEqual(res.destroyed, [draftId]);
    const newId = res.created.draft2.id;
    assert.notEqual(newId, draftId);
    const [got] = await jam.api.Email.get({
      accountId,
      ids: [draftId, newId],
      properties: ["textBody", "bodyValues"],
      fetchTextBodyValues: true,
    });
    assert.deepEqual(got.notFound, [draftId]);
    assert.equal(got.list.length, 1);
    assert.equal(got.list[0].bodyValues[got.list[0].textBody[0].partId].value, "Thanks, second draft.\n");
    assert.deepEqual(await findBySubject(jam, accountId, boxes.drafts.id, TOKEN), [newId]);
  });

  it("refreshes the inbox page with Email/queryChanges when new mail arrives", async () => {
    const subject = `Another topic ${TOKEN}`;
    await lmtpDeliver(
      USERS.alice.email,
      USERS.demo.email,
      crlf(`From: <${USERS.alice.email}>\nTo: <${USERS.demo.email}>\nSubject: ${subject}\n` +
        `Message-ID: <new-${MSGID}>\nMIME-Version: 1.0\nContent-Type: text/plain\n\nNew.\n`),
    );
    // The gateway learns of mail delivered behind its back from the IMAP
    // server's NOTIFY announcement, a moment later: poll as an app would.
    const fresh = await eventually(async () => {
      const [r] = await jam.api.Email.query({ accountId, filter: { inMailbox: boxes.inbox.id, subject } });
      return r.ids.length > 0 ? r : null;
    });
    assert.equal(fresh?.ids.length, 1, "the new mail shows up");
    const [changes] = await jam.api.Email.queryChanges({
      accountId,
      filter: { inMailbox: boxes.inbox.id },
      sort: [{ property: "receivedAt", isAscending: false }],
      collapseThreads: true,
      sinceQueryState: pageState,
      calculateTotal: true,
    });
    assert.equal(changes.oldQueryState, pageState);
    assert.notEqual(changes.newQueryState, pageState);
    assert.deepEqual(changes.added[0], { id: fresh.ids[0], index: 0 }, JSON.stringify(changes));
  });

  it("deletes a message: moved to Trash, then destroyed for good", async () => {
    const [ids] = await jam.api.Email.query({
      accountId,
      filter: { inMailbox: boxes.inbox.id, subject: `Another topic ${TOKEN}` },
    });
    assert.equal(ids.ids.length, 1);
    const victim = ids.ids[0];
    const [trashed] = await jam.api.Email.set({
      accountId,
      update: { [victim]: { mailboxIds: { [boxes.trash.id]: true } } },
    });
    assertNoSetErrors(trashed, "to Trash");
    assert.deepEqual(await findBySubject(jam, accountId, boxes.trash.id, `Another topic ${TOKEN}`), [victim]);

    const [gone] = await jam.api.Email.set({ accountId, destroy: [victim] });
    assertNoSetErrors(gone, "destroy");
    assert.deepEqual(gone.destroyed, [victim]);
    const [got] = await jam.api.Email.get({ accountId, ids: [victim], properties: ["id"] });
    assert.deepEqual(got.notFound, [victim]);
    assert.deepEqual(await findBySubject(jam, accountId, boxes.trash.id, `Another topic ${TOKEN}`), []);
  });
});
