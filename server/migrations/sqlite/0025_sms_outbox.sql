-- Text messages (GOV.UK Notify SMS) queued like emails and sent by the same worker: the DfE Identity account's
-- mobile passcodes (DESIGN §7.3). A table of their own beside email_outbox: a message has a phone number, not an
-- address, and no subject, and its reference is looked up among Notify's text messages, not its emails.
CREATE TABLE sms_outbox (
    id INTEGER PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    template TEXT NOT NULL,
    phone_number TEXT NOT NULL CHECK (phone_number <> ''),
    -- JSON object. It holds the passcode, so it is emptied once Notify has the message or it has failed; the
    -- development mailbox, which shows it, keeps it.
    personalisation TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    notify_id TEXT,
    delivered_via TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX sms_outbox_due ON sms_outbox (status, next_attempt_at);
