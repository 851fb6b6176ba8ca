-- "Continue without a mobile number" only where the service allows it (issue 13 §2, DESIGN §7.3): each client says
-- whether someone creating a DfE Identity account from it must give a mobile number. Required unless set, so every
-- client registered before this asks for one as it always did.
ALTER TABLE oidc_clients ADD COLUMN mobile TEXT NOT NULL DEFAULT 'required'
    CHECK (mobile IN ('required', 'optional'));
