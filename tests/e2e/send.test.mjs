// send.test.mjs - sending as a mail app does it with jmap-jam: a draft in
// Drafts, then EmailSubmission/set with onSuccessUpdateEmail moving it to
// Sent and dropping $draft; the recipient (the second user) then finds it
// in their Inbox through JMAP, body and attachment intact, Bcc not shown.
// Needs the private Postfix (root): without it the test says so and skips.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";

import {
  HAVE_SMTP,
  SUBMISSION,
  USERS,
  connect,
  eventually,
  findBySubject,
  mailboxesByRole,
  openAccount,
  unique,
} from "./client.mjs";

const TOKEN = unique("lunch");
const SUBJECT = `Lunch plans ${TOKEN}`;
const BODY = "Hi Alice,\n\nlunch at the Café on Friday, 12:30?\n\nDemo\n";
const FILE = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 13 + 5) % 256));

describe("sending with jmap-jam", { skip: HAVE_SMTP ? false : "no private Postfix (not root)" }, () => {
  const demo = connect(USERS.demo);
  const alice = connect(USERS.alice);
  let accountId;
  let boxes;
  let identity;
  let draftId;
  let submissionId;
  let upload;

  before(async () => {
    ({ accountId } = await openAccount(demo));
    boxes = (await mailboxesByRole(demo, accountId)).byRole;
  });

  it("finds the submission capability and the default identity", async () => {
    const session = await demo.session;
    assert.ok(session.capabilities[SUBMISSION], "submission capability in the session");
    const cap = session.accounts[accountId].accountCapabilities[SUBMISSION];
    assert.ok(cap, "submission account capability");
    assert.equal(typeof cap.maxDelayedSend, "number");
    assert.equal(typeof cap.submissionExtensions, "object");
    const [ids] = await demo.api.Identity.get({ accountId, ids: null });
    identity = ids.list.find((i) => i.email === USERS.demo.email);
    assert.ok(identity, `an identity for ${USERS.demo.email}: ${JSON.stringify(ids.list)}`);
  });

  it("saves the draft to send, with an attachment", async () => {
    upload = await demo.uploadBlob(accountId, new Blob([FILE], { type: "application/octet-stream" }));
    assert.equal(upload.size, FILE.length);
    const [res] = await demo.api.Email.set({
      accountId,
      create: {
        draft: {
          mailboxIds: { [boxes.drafts.id]: true },
          keywords: { $draft: true, $seen: true },
          from: [{ name: "Demo User", email: USERS.demo.email }],
          to: [{ name: "Alice Example", email: USERS.alice.email }],
          bcc: [{ name: "Demo User", email: USERS.demo.email }],
          subject: SUBJECT,
          bodyValues: { body: { value: BODY } },
          textBody: [{ partId: "body", type: "text/plain" }],
          attachments: [{ blobId: upload.blobId, type: "application/octet-stream", name: "menu.bin" }],
        },
      },
    });
    assert.deepEqual(res.notCreated ?? {}, {});
    draftId = res.created.draft.id;
  });

  it("sends it: EmailSubmission/set with onSuccessUpdateEmail files it in Sent", async () => {
    const [res] = await demo.api.EmailSubmission.set({
      accountId,
      create: { send: { identityId: identity.id, emailId: draftId } },
      onSuccessUpdateEmail: {
        "#send": {
          [`mailboxIds/${boxes.drafts.id}`]: null,
          [`mailboxIds/${boxes.sent.id}`]: true,
          "keywords/$draft": null,
        },
      },
    });
    assert.deepEqual(res.notCreated ?? {}, {}, JSON.stringify(res.notCreated));
    submissionId = res.created.send.id;
    assert.equal(typeof submissionId, "string");

    const [got] = await demo.api.Email.get({ accountId, ids: [draftId], properties: ["mailboxIds", "keywords"] });
    assert.equal(got.list.length, 1, "the sent Email keeps its id");
    assert.deepEqual(got.list[0].mailboxIds, { [boxes.sent.id]: true });
    assert.deepEqual(got.list[0].keywords, { $seen: true });
    assert.deepEqual(await findBySubject(demo, accountId, boxes.drafts.id, TOKEN), []);
    assert.deepEqual(await findBySubject(demo, accountId, boxes.sent.id, TOKEN), [draftId], "filed in Sent once");
  });

  it("reports the submission: envelope and the server's answer", async () => {
    const [res] = await demo.api.EmailSubmission.get({ accountId, ids: [submissionId] });
    assert.equal(res.list.length, 1);
    const s = res.list[0];
    assert.equal(s.emailId, draftId);
    assert.equal(s.identityId, identity.id);
    assert.equal(s.undoStatus, "final");
    assert.equal(s.envelope.mailFrom.email, USERS.demo.email);
    assert.deepEqual(s.envelope.rcptTo.map((a) => a.email).sort(), [USERS.alice.email, USERS.demo.email].sort());
    assert.match(s.deliveryStatus[USERS.alice.email].smtpReply, /^2\d\d/);
  });

  it("arrives in the recipient's Inbox", async () => {
    assert.ok(submissionId, "nothing was submitted");
    const { accountId: aliceAccount } = await openAccount(alice);
    const inbox = (await mailboxesByRole(alice, aliceAccount)).byRole.inbox;
    const ids = await eventually(async () => {
      const found = await findBySubject(alice, aliceAccount, inbox.id, TOKEN);
      return found.length > 0 ? found : null;
    });
    assert.ok(ids && ids.length === 1, `one message for alice: ${JSON.stringify(ids)}`);
    const [got] = await alice.api.Email.get({
      accountId: aliceAccount,
      ids,
      properties: ["from", "to", "bcc", "subject", "keywords", "textBody", "attachments", "bodyValues"],
      fetchTextBodyValues: true,
    });
    const e = got.list[0];
    assert.equal(e.subject, SUBJECT);
    assert.deepEqual(e.from, [{ name: "Demo User", email: USERS.demo.email }]);
    assert.deepEqual(e.to, [{ name: "Alice Example", email: USERS.alice.email }]);
    assert.equal(e.bcc, null, "Bcc is not in the sent bytes");
    assert.ok(!e.keywords.$draft, "not a draft for the recipient");
    assert.equal(e.bodyValues[e.textBody[0].partId].value, BODY);
    assert.equal(e.attachments.length, 1);
    assert.equal(e.attachments[0].name, "menu.bin");
    const res = await alice.downloadBlob({
      accountId: aliceAccount,
      blobId: e.attachments[0].blobId,
      mimeType: "application/octet-stream",
      fileName: "menu.bin",
    });
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(FILE), "the attachment arrives byte-identical");
  });

  it("creates and sends in one request (emailId by creation id)", async () => {
    const subject = `Quick note ${TOKEN}`;
    const [res] = await demo.requestMany((t) => {
      const draft = t.Email.set({
        accountId,
        create: {
          quick: {
            mailboxIds: { [boxes.drafts.id]: true },
            keywords: { $draft: true, $seen: true },
            from: [{ email: USERS.demo.email }],
            to: [{ email: USERS.alice.email }],
            subject,
            bodyValues: { b: { value: "Sent in one go.\n" } },
            textBody: [{ partId: "b", type: "text/plain" }],
          },
        },
      });
      const send = t.EmailSubmission.set({
        accountId,
        create: { s: { identityId: identity.id, emailId: "#quick" } },
        onSuccessUpdateEmail: {
          "#s": { [`mailboxIds/${boxes.drafts.id}`]: null, [`mailboxIds/${boxes.sent.id}`]: true, "keywords/$draft": null },
        },
      });
      return { draft, send };
    });
    assert.deepEqual(res.draft.notCreated ?? {}, {});
    const id = res.draft.created.quick.id;
    assert.deepEqual(await findBySubject(demo, accountId, boxes.sent.id, subject), [id]);

    const { accountId: aliceAccount } = await openAccount(alice);
    const inbox = (await mailboxesByRole(alice, aliceAccount)).byRole.inbox;
    const ids = await eventually(async () => {
      const found = await findBySubject(alice, aliceAccount, inbox.id, subject);
      return found.length > 0 ? found : null;
    });
    assert.equal(ids?.length, 1, "alice got it once");
  });
});
