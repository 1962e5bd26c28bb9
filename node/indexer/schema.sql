-- The SQL schema of `credichain index` (version 1); docs/indexer.md describes every table.
--
-- Written in one transaction by node/indexer/schema.py when the database has no
-- schema_version table. Conventions: heights and times are bigint, amounts are
-- numeric(20, 0) in minor units (they reach 2**64 - 1), hashes are '0x' + hex text
-- and accounts bech32m text (as the JSON-RPC shows them), call arguments and event
-- attributes are jsonb in the RPC's JSON form (bytes as 0x hex, integers as decimal
-- strings). Every row is keyed by where it sits in the chain, so writing a block
-- twice cannot add a row twice.

CREATE TABLE schema_version (
    version integer PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE indexer_state (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    genesis_hash text NOT NULL,
    chain text NOT NULL,
    address_prefix text NOT NULL,
    height bigint NOT NULL CHECK (height >= 0),
    block_hash text NOT NULL,
    block_time_ms bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE blocks (
    height bigint PRIMARY KEY CHECK (height >= 0),
    hash text NOT NULL UNIQUE,
    parent_hash text NOT NULL,
    time_ms bigint NOT NULL,
    proposer text NOT NULL,
    proposal_round integer NOT NULL,
    state_root text NOT NULL,
    extrinsics integer NOT NULL,
    events integer NOT NULL
);

CREATE TABLE extrinsics (
    height bigint NOT NULL REFERENCES blocks (height),
    extrinsic_index integer NOT NULL CHECK (extrinsic_index >= 0),
    hash text NOT NULL UNIQUE,
    signer text NOT NULL,
    nonce bigint NOT NULL,
    valid_until bigint NOT NULL,
    pallet text NOT NULL,
    call text NOT NULL,
    args jsonb NOT NULL,
    success boolean NOT NULL,
    error_pallet text,
    error_code text,
    error_rule text,
    error_message text,
    fee numeric(20, 0) NOT NULL,
    PRIMARY KEY (height, extrinsic_index)
);
CREATE INDEX extrinsics_signer ON extrinsics (signer, height);

CREATE TABLE events (
    height bigint NOT NULL REFERENCES blocks (height),
    extrinsic_index integer NOT NULL CHECK (extrinsic_index >= -1),
    event_index integer NOT NULL CHECK (event_index >= 0),
    pallet text NOT NULL,
    name text NOT NULL,
    attributes jsonb NOT NULL,
    PRIMARY KEY (height, extrinsic_index, event_index)
);
CREATE INDEX events_name ON events (pallet, name, height);

CREATE TABLE movements (
    height bigint NOT NULL,
    extrinsic_index integer NOT NULL,
    event_index integer NOT NULL,
    kind text NOT NULL CHECK (kind IN ('transfer', 'mint', 'burn', 'fee', 'dust')),
    source text,
    dest text,
    amount numeric(20, 0) NOT NULL CHECK (amount > 0),
    PRIMARY KEY (height, extrinsic_index, event_index),
    FOREIGN KEY (height, extrinsic_index, event_index) REFERENCES events,
    CHECK (source IS NOT NULL OR dest IS NOT NULL)
);
CREATE INDEX movements_source ON movements (source, height);
CREATE INDEX movements_dest ON movements (dest, height);

CREATE TABLE genesis_balances (
    account text PRIMARY KEY,
    amount numeric(20, 0) NOT NULL CHECK (amount >= 0)
);

CREATE TABLE module_accounts (
    account text PRIMARY KEY,
    name text NOT NULL UNIQUE
);

CREATE TABLE funds (
    fund integer PRIMARY KEY CHECK (fund >= 0),
    cash_account text NOT NULL UNIQUE,
    name text NOT NULL,
    status text NOT NULL,
    funders integer NOT NULL,
    contribution numeric(20, 0) NOT NULL,
    rate_bps integer NOT NULL,
    purposes text[] NOT NULL,
    record jsonb NOT NULL,
    created_height bigint NOT NULL REFERENCES blocks (height),
    updated_height bigint NOT NULL REFERENCES blocks (height)
);

CREATE TABLE loans (
    loan bigint PRIMARY KEY CHECK (loan >= 0),
    fund integer NOT NULL REFERENCES funds (fund),
    recipient text NOT NULL,
    borrowers text[] NOT NULL,
    purpose text NOT NULL,
    principal numeric(20, 0) NOT NULL,
    outstanding numeric(20, 0) NOT NULL,
    rate_bps integer NOT NULL,
    start_time bigint NOT NULL,
    term bigint NOT NULL,
    installments integer NOT NULL,
    status text NOT NULL,
    principal_paid numeric(20, 0) NOT NULL,
    interest_paid numeric(20, 0) NOT NULL,
    missing numeric(20, 0) NOT NULL,
    closed_time bigint NOT NULL,
    first_height bigint NOT NULL REFERENCES blocks (height),
    updated_height bigint NOT NULL REFERENCES blocks (height)
);
CREATE INDEX loans_fund ON loans (fund, status);

CREATE TABLE fund_reports (
    fund integer NOT NULL REFERENCES funds (fund),
    height bigint NOT NULL REFERENCES blocks (height),
    time bigint NOT NULL,
    cash numeric(20, 0) NOT NULL,
    outstanding numeric(20, 0) NOT NULL,
    size numeric(20, 0) NOT NULL,
    utilization_bps integer NOT NULL,
    interest_income numeric(20, 0) NOT NULL,
    losses numeric(20, 0) NOT NULL,
    expenses numeric(20, 0) NOT NULL,
    funders integer NOT NULL,
    par30_bps integer NOT NULL,
    par60_bps integer NOT NULL,
    par90_bps integer NOT NULL,
    exits_pending integer NOT NULL,
    exit_arrears numeric(20, 0) NOT NULL,
    PRIMARY KEY (fund, height)
);

CREATE TABLE fund_report_purposes (
    fund integer NOT NULL,
    height bigint NOT NULL,
    purpose text NOT NULL,
    loans integer NOT NULL,
    outstanding numeric(20, 0) NOT NULL,
    par30 numeric(20, 0) NOT NULL,
    par60 numeric(20, 0) NOT NULL,
    par90 numeric(20, 0) NOT NULL,
    PRIMARY KEY (fund, height, purpose),
    FOREIGN KEY (fund, height) REFERENCES fund_reports
);

-- Every account's free balance after the last indexed block: genesis plus movements.
CREATE VIEW balances AS
SELECT account, sum(delta)::numeric(20, 0) AS free
FROM (
    SELECT account, amount AS delta FROM genesis_balances
    UNION ALL
    SELECT dest, amount FROM movements WHERE dest IS NOT NULL
    UNION ALL
    SELECT source, -amount FROM movements WHERE source IS NOT NULL
) AS entries
GROUP BY account;

-- A fund's public book (F10): every movement in or out of its cash account.
CREATE VIEW fund_book AS
SELECT f.fund, m.height, m.extrinsic_index, m.event_index, m.kind,
       CASE WHEN m.dest = f.cash_account THEN m.source ELSE m.dest END AS counterparty,
       CASE WHEN m.dest = f.cash_account THEN m.amount ELSE -m.amount END AS delta
FROM movements m
JOIN funds f ON f.cash_account IN (m.source, m.dest)
WHERE m.source IS DISTINCT FROM m.dest;
