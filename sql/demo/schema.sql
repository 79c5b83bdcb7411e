-- Demo schema for the exporter: a small "shop" (customers + orders) whose
-- size is chosen at load time, plus a table of edge-case values (type_zoo).
--
-- Idempotent: run it as often as you like, then fill the shop with
--   SELECT demo.generate(1000000);
--
-- Only core PostgreSQL features are used (tested on 15 and 18; no extensions).
-- The generated shop data is deterministic: every value is derived from the
-- row number through md5(), so two runs with the same N give identical rows
-- (random() and gen_random_uuid() are never used).
--
-- Literals such as 'C:\path\to' or '\xdeadbeef' assume standard_conforming_strings
-- = on, the default since PostgreSQL 9.1.

CREATE SCHEMA IF NOT EXISTS demo;

-- ---------------------------------------------------------------------------
-- Shop tables
-- ---------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS demo.customers (
    id          bigint      PRIMARY KEY,
    name        text        NOT NULL,
    email       text        NOT NULL,
    country     text        NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    city        text        NOT NULL,
    tier        text        NOT NULL CHECK (tier IN ('free', 'plus', 'pro')),
    created_at  timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS demo.orders (
    id           bigint        CONSTRAINT orders_pkey PRIMARY KEY,
    customer_id  bigint        NOT NULL
                 CONSTRAINT orders_customer_id_fkey REFERENCES demo.customers (id),
    created_at   timestamptz   NOT NULL,
    status       text          NOT NULL
                 CHECK (status IN ('pending', 'paid', 'shipped', 'cancelled', 'refunded')),
    amount       numeric(12,2) NOT NULL,
    quantity     int           NOT NULL,
    express      boolean       NOT NULL,
    tracking     uuid          NOT NULL,
    attributes   jsonb         NOT NULL,
    note         text          -- NULL in ~30% of rows
);

CREATE INDEX IF NOT EXISTS orders_created_at_idx ON demo.orders (created_at);
CREATE INDEX IF NOT EXISTS orders_status_idx     ON demo.orders (status);

-- ---------------------------------------------------------------------------
-- demo._slug(s): ASCII slug for e-mail addresses.
--   'Zoë' -> 'zoe', 'O''Brien' -> 'obrien', '佐藤' -> ''.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION demo._slug(s text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT regexp_replace(
               translate(lower(s), 'àáâãäåçèéêëìíîïıñòóôõöøùúûüýÿ',
                                   'aaaaaaceeeeiiiiinoooooouuuuyy'),
               '[^a-z]', '', 'g')
$$;

-- ---------------------------------------------------------------------------
-- demo.generate(orders_count): truncate and refill customers and orders.
--
--   customers: greatest(10, orders_count / 20) rows, created 2020-01-01 .. 2022-12-31 (UTC)
--   orders:    orders_count rows, created 2023-01-01 .. 2026-06-30 (UTC), more and more
--              per day (x3 from start to end); created_at ascends with id.
--
-- Deterministic: each row's "random" fields come from md5('<kind>:' || row number)
-- (orders use two: md5('order:' || id) and md5('tracking:' || id), the latter is
-- also the tracking uuid). 15 hex digits of an md5 make a 60-bit integer (a, b,
-- c); each field is a few of its bits ((a >> 8) % 5) or one digit of it in a
-- mixed radix (b % 20000, b / 20000 % 100, ...), which is cheap. Only integer,
-- numeric and exactly-rounded float arithmetic is used, so every PostgreSQL
-- version and platform produces the same rows.
-- For speed, orders.attributes is picked from a pool of 20000 pre-built jsonb
-- values ("variants", which also fix quantity, express and the discount), and
-- the orders primary key, foreign key and indexes are dropped during the load
-- and re-created afterwards.
-- 1,000,000 orders take roughly 15-25 s on a 2-core machine.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION demo.generate(orders_count bigint)
RETURNS void
LANGUAGE plpgsql
-- Generic plans keep the plpgsql array variables as parameters (read in O(1));
-- custom plans would inline them as constants, making every subscript O(n).
SET plan_cache_mode = force_generic_plan
-- Some notes hold backslashes: parse them the same whatever the caller's setting.
SET standard_conforming_strings = on
AS $fn$
DECLARE
    n_customers bigint;
    first_names text[] := ARRAY[
        'Alice', 'Bob', 'Carla', 'David', 'Emma', 'Farid', 'Giulia', 'Hiroshi',
        'Ingrid', 'João', 'Kofi', 'Léa', 'Mateo', 'Nadia', 'Olga', 'Pierre',
        'Quentin', 'Rania', 'Søren', 'Tomás', 'Uma', 'Vera', 'Wei', 'Ximena',
        'Yuki', 'Zoë', 'Aoife', 'Björn', 'Chloé', 'Dmitri', 'Amélie', 'Sven'];
    last_names text[] := ARRAY[
        'Smith', 'Müller', 'García', 'Rossi', 'Dubois', 'Tanaka', 'Kowalski',
        'Nguyen', 'Silva', 'O''Brien', 'Andersson', 'Ivanov', 'Kim', 'Novák',
        'Singh', 'van der Berg', 'Jones', 'Schmidt', 'Yılmaz', '佐藤', 'Brown',
        'Martin', 'Hernández', 'Lefèvre', 'Okafor', 'Johansson', 'Costa', 'Lee'];
    -- 'CC|City'; the US is listed more often to weight the countries.
    places text[] := ARRAY[
        'US|New York', 'US|San Francisco', 'US|Chicago', 'US|Austin', 'US|Seattle',
        'US|Boston', 'DE|Berlin', 'DE|München', 'DE|Köln', 'GB|London',
        'GB|Manchester', 'GB|Edinburgh', 'FR|Paris', 'FR|Lyon', 'JP|東京',
        'JP|大阪', 'BR|São Paulo', 'BR|Rio de Janeiro', 'IN|Bengaluru', 'IN|Mumbai',
        'CA|Montréal', 'CA|Toronto', 'NL|Amsterdam', 'ES|Sevilla', 'IT|Milano',
        'SE|Göteborg', 'PL|Kraków', 'MX|Ciudad de México', 'AU|Sydney',
        'KR|서울', 'CH|Zürich', 'TR|İstanbul', 'NG|Lagos', 'ZA|Cape Town'];
    tiers text[] := ARRAY['free', 'free', 'free', 'free', 'free', 'plus', 'plus', 'pro'];
    channels text[] := ARRAY['web', 'web', 'web', 'mobile', 'mobile', 'store', 'partner'];
    oses text[] := ARRAY['ios', 'android', 'windows', 'macos', 'linux'];
    carriers text[] := ARRAY['DHL', 'UPS', 'FedEx', 'La Poste'];
    tag_pool text[] := ARRAY['gift', 'fragile', 'bulk', 'vip', 'promo', 'b2b', 'first-order'];
    quantities int[] := ARRAY[1, 1, 1, 1, 1, 1, 2, 2, 2, 3, 3, 4, 5, 6, 8, 10];
    discounts int[] := ARRAY[0, 0, 0, 0, 0, 0, 0, 5, 10, 20];
    -- Notes deliberately contain CSV/JSON-hostile characters and non-ASCII text.
    notes text[] := ARRAY[
        'Leave at the front door',
        'Please call before delivery, thanks!',
        'Gift wrap, please: "Happy birthday"',
        E'Line one\nLine two',
        E'Windows line\r\nending',
        E'Tab\tseparated\tvalues',
        'Deliver to Zoë at reception',
        '配送先: 東京都渋谷区',
        'Thanks! 🎉🚚',
        'Path: C:\Users\zoë\orders',
        'Ends with a backslash \',
        'She said "ASAP", so... hurry',
        'Müller GmbH — Lieferung an Tor 3',
        'שלום — משלוח מהיר',
        'Comma, separated, words',
        '',
        'N/A',
        '  padded with spaces  '];
    n_variants      constant bigint := 20000;
    v_quantity      int[];
    v_express       boolean[];
    v_discount      int[];
    v_attributes    jsonb[];
    orders_start    constant timestamptz := '2023-01-01 00:00:00+00';
    customers_start constant timestamptz := '2020-01-01 00:00:00+00';
    -- Lengths of the two periods in milliseconds.
    orders_span_ms    constant double precision :=
        extract(epoch FROM timestamptz '2026-07-01 00:00:00+00' - orders_start) * 1000;
    customers_span_ms constant double precision :=
        extract(epoch FROM orders_start - customers_start) * 1000;
BEGIN
    IF orders_count IS NULL OR orders_count < 0 THEN
        RAISE EXCEPTION 'demo.generate: orders_count must be >= 0, got %', orders_count;
    END IF;
    n_customers := greatest(10, orders_count / 20);

    -- Bulk-load without the foreign key and indexes (much faster); re-created below.
    ALTER TABLE demo.orders DROP CONSTRAINT IF EXISTS orders_customer_id_fkey;
    ALTER TABLE demo.orders DROP CONSTRAINT IF EXISTS orders_pkey;
    DROP INDEX IF EXISTS demo.orders_created_at_idx;
    DROP INDEX IF EXISTS demo.orders_status_idx;
    TRUNCATE demo.orders, demo.customers;

    INSERT INTO demo.customers (id, name, email, country, city, tier, created_at)
    SELECT p.i,
           p.first_name || ' ' || p.last_name,
           coalesce(nullif(demo._slug(p.first_name), ''), 'user') || '.'
               || coalesce(nullif(demo._slug(p.last_name), ''), 'customer') || '.'
               || p.i || '@example.com',
           split_part(p.place, '|', 1),
           split_part(p.place, '|', 2),
           p.tier,
           customers_start
               + round((p.i - 1 + p.jitter / 1000.0::float8)
                       * customers_span_ms / n_customers)::bigint * interval '1 millisecond'
    FROM (
        SELECT r.i,
               first_names[1 + r.a % cardinality(first_names)]       AS first_name,
               last_names[1 + (r.a >> 8) % cardinality(last_names)]  AS last_name,
               places[1 + (r.a >> 16) % cardinality(places)]         AS place,
               tiers[1 + (r.a >> 24) % cardinality(tiers)]           AS tier,
               (r.a >> 32) % 1000                                    AS jitter
        FROM (
            SELECT i, ('x' || substr(md5('customer:' || i), 1, 15))::bit(60)::bigint AS a
            FROM generate_series(1, n_customers) AS i
        ) AS r
        OFFSET 0
    ) AS p;

    -- The pool of order "variants": attributes (jsonb) plus the quantity, express
    -- flag and discount it describes. Kept in (expanded) plpgsql arrays, so the
    -- orders query below reads them by subscript instead of joining.
    SELECT array_agg(d.quantity ORDER BY d.variant),
           array_agg(d.express ORDER BY d.variant),
           array_agg(d.discount ORDER BY d.variant),
           array_agg(
               jsonb_build_object(
                   'channel', d.channel,
                   'items', d.quantity,
                   'shipping', jsonb_build_object(
                       'method', CASE WHEN d.express THEN 'express' ELSE 'standard' END,
                       'carrier', d.carrier,
                       'insured', d.insured),
                   'tags', to_jsonb(tag_pool[d.tag_start : d.tag_start + d.tag_count - 1]),
                   'discount', CASE WHEN d.discount > 0
                                    THEN jsonb_build_object('code', 'SAVE' || d.discount,
                                                            'pct', d.discount)
                               END)
               || CASE WHEN d.channel IN ('web', 'mobile')
                       THEN jsonb_build_object('device', jsonb_build_object(
                                'os', d.os, 'app_version', d.app_version))
                       ELSE '{}'::jsonb
                  END
               ORDER BY d.variant)
      INTO v_quantity, v_express, v_discount, v_attributes
    FROM (
        SELECT r.variant,
               quantities[1 + r.a % cardinality(quantities)]       AS quantity,
               (r.a >> 8) % 5 = 0                                  AS express,
               discounts[1 + (r.a >> 16) % cardinality(discounts)] AS discount,
               channels[1 + (r.a >> 24) % cardinality(channels)]   AS channel,
               oses[1 + (r.a >> 32) % cardinality(oses)]           AS os,
               carriers[1 + (r.a >> 40) % cardinality(carriers)]   AS carrier,
               (r.a >> 48) % 3 = 0                                 AS insured,
               (1 + r.b % 4) || '.' || ((r.b >> 8) % 10) || '.' || ((r.b >> 16) % 30)
                                                                   AS app_version,
               1 + (r.b >> 24) % cardinality(tag_pool)             AS tag_start,
               (r.b >> 32) % 4                                     AS tag_count
        FROM (
            SELECT variant,
                   ('x' || substr(h, 1, 15))::bit(60)::bigint  AS a,
                   ('x' || substr(h, 16, 15))::bit(60)::bigint AS b
            FROM (SELECT variant, md5('variant:' || variant) AS h
                  FROM generate_series(0, n_variants - 1) AS variant
                  OFFSET 0) AS hashed
        ) AS r
        OFFSET 0
    ) AS d;

    INSERT INTO demo.orders (id, customer_id, created_at, status, amount, quantity,
                             express, tracking, attributes, note)
    SELECT o.i,
           o.customer_id,
           -- Order volume grows over the period (3x as many orders per day at the end
           -- as at the start): f in [0, 1) is the id's place in the sequence, mapped
           -- through the inverse of the growth CDF. sqrt() is exactly rounded in
           -- IEEE 754, so this too is identical on any platform.
           orders_start
               + round((sqrt(1 + 8 * (o.i - 1 + o.jitter / 1000.0::float8) / orders_count) - 1)
                       / 2 * orders_span_ms)::bigint * interval '1 millisecond',
           CASE WHEN o.status_pick <  8 THEN 'pending'
                WHEN o.status_pick < 28 THEN 'paid'
                WHEN o.status_pick < 80 THEN 'shipped'
                WHEN o.status_pick < 92 THEN 'cancelled'
                ELSE 'refunded'
           END,
           -- quantity * unit price, minus the discount. The unit price in cents is
           -- 200 + price_pick^3 / 20080321285 (2.00 .. 499.99, skewed low). Integer and
           -- numeric arithmetic only (no pow()), so it is identical on any platform.
           round((v_quantity[o.variant]
                  * (200 + o.price_pick * o.price_pick * o.price_pick / 20080321285)
                  * (100 - v_discount[o.variant]))::numeric / 10000, 2),
           v_quantity[o.variant],
           v_express[o.variant],
           o.tracking,
           v_attributes[o.variant],
           CASE WHEN o.note_pick < 30 THEN NULL      -- ~30% NULL
                WHEN o.note_pick < 36 THEN 'Customer reference: PO-' || (100000 + o.i)
                ELSE notes[1 + o.note_index % array_length(notes, 1)]
           END
    FROM (
        SELECT r.i,
               r.t::uuid                                     AS tracking,
               -- The product of two uniform numbers is skewed towards 0, so customers
               -- with low ids (the long-standing ones) order more.
               -- (">>" binds more loosely than "+" and "*" in PostgreSQL.)
               1 + ((((r.a & 1073741823) * (r.a >> 30)) >> 30) * n_customers >> 30)
                                                             AS customer_id,
               1 + r.b % n_variants                          AS variant,
               r.b / n_variants % 100                        AS status_pick,
               r.b / (n_variants * 100) % 100000             AS price_pick,
               r.b / (n_variants * 10000000) % 100           AS note_pick,
               r.b / (n_variants * 1000000000) % 1000        AS note_index,
               r.c % 1000                                    AS jitter
        FROM (
            SELECT i, t,
                   ('x' || substr(h, 1, 15))::bit(60)::bigint  AS a,
                   ('x' || substr(h, 16, 15))::bit(60)::bigint AS b,
                   ('x' || substr(t, 1, 15))::bit(60)::bigint  AS c
            FROM (SELECT i, md5('order:' || i) AS h, md5('tracking:' || i) AS t
                  FROM generate_series(1, orders_count) AS i
                  OFFSET 0) AS hashed     -- OFFSET 0: compute md5 once per row
            OFFSET 0                      -- ... and a, b, c once per row
        ) AS r
    ) AS o;

    ALTER TABLE demo.orders ADD CONSTRAINT orders_pkey PRIMARY KEY (id);
    CREATE INDEX orders_created_at_idx ON demo.orders (created_at);
    CREATE INDEX orders_status_idx     ON demo.orders (status);
    ALTER TABLE demo.orders ADD CONSTRAINT orders_customer_id_fkey
        FOREIGN KEY (customer_id) REFERENCES demo.customers (id);

    ANALYZE demo.customers;
    ANALYZE demo.orders;
END;
$fn$;

-- ---------------------------------------------------------------------------
-- type_zoo: one column per type, rows holding edge values. Row 1 is all NULL,
-- row 2 holds typical values, rows 3.. hold edge values (see the comments).
-- Needs a UTF8 database (emoji, CJK and RTL text).
-- ---------------------------------------------------------------------------

DO $$
BEGIN
    IF to_regtype('demo.mood') IS NULL THEN
        CREATE TYPE demo.mood AS ENUM ('sad', 'ok', 'happy');
    END IF;
END
$$;

CREATE TABLE IF NOT EXISTS demo.type_zoo (
    id              int PRIMARY KEY,
    c_smallint      smallint,
    c_int           int,
    c_bigint        bigint,
    c_real          real,
    c_double        double precision,
    c_numeric       numeric,
    c_numeric_12_2  numeric(12,2),
    c_bool          boolean,
    c_text          text,
    c_varchar       varchar(20),
    c_char          char(5),
    c_date          date,
    c_time          time,
    c_timestamp     timestamp,
    c_timestamptz   timestamptz,
    c_interval      interval,
    c_uuid          uuid,
    c_json          json,
    c_jsonb         jsonb,
    c_bytea         bytea,
    c_int_array     int[],
    c_text_array    text[],
    c_int_matrix    int[],          -- holds 2-D arrays (and one 1-D value)
    c_enum          demo.mood
);

TRUNCATE demo.type_zoo;

-- 1: every column NULL.
INSERT INTO demo.type_zoo (id) VALUES (1);

-- Rows 2-10 list every column, in table order:
--   id, smallint, int, bigint, real, double, numeric, numeric(12,2), bool,
--   text, varchar(20), char(5), date, time, timestamp, timestamptz, interval,
--   uuid, json, jsonb, bytea, int[], text[], int[] (matrix), mood.

-- 2: typical values.
INSERT INTO demo.type_zoo VALUES (
    2, 42, 42000, 42000000000, 3.14, 3.141592653589793, 123.45, 1234.50, true,
    'The quick brown fox', 'short', 'ab',
    '2024-01-15', '12:34:56', '2024-06-01 12:34:56.789012', '2024-06-01 12:34:56.789012+00',
    '1 year 2 mons 3 days 04:05:06.789', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    '{"a": 1, "b": [true, null]}', '{"nested": {"a": [1, {"b": null}], "c": "x"}}',
    '\xdeadbeef', '{1,2,3}', '{alpha,beta}', '{{1,2},{3,4}}', 'happy');

-- 3: minimums / negative infinities.
INSERT INTO demo.type_zoo VALUES (
    3, -32768, -2147483648, -9223372036854775808, '-Infinity', '-Infinity', 'NaN',
    -9999999999.99, false,
    '',                                   -- empty string (not NULL)
    '', '',                               -- empty varchar; char(5) pads to 5 spaces
    '-infinity', '00:00:00', '-infinity', '-infinity',
    '-1 year -2 mons -3 days -04:05:06.789',
    '00000000-0000-0000-0000-000000000000',
    '{"a": 1,  "a": 2}',                  -- json keeps duplicate keys and whitespace
                                          -- (jsonb would keep only "a": 2)
    '42',                                 -- jsonb scalar number
    '\x',                                 -- empty bytea
    '{}', '{}',
    '{5,6,7}',                            -- a 1-D value in the matrix column
    'sad');

-- 4: maximums / positive infinities.
INSERT INTO demo.type_zoo VALUES (
    4, 32767, 2147483647, 9223372036854775807, 'Infinity', 'Infinity',
    '123456789012345678901234567890123456789012345678901234567890123456789',  -- 69 digits
    9999999999.99, true,
    '"',                                  -- a lone double quote
    'exactly twenty chars', 'abcde',
    'infinity', '24:00:00', 'infinity', 'infinity',   -- time allows 24:00:00
    '178000000 years',
    'ffffffff-ffff-ffff-ffff-ffffffffffff',
    '"caf\u00e9 \u6771\u4eac \ud83c\udf89"',   -- json string with unicode escapes
    '"just a string"',                    -- jsonb scalar string
    '\x00ff5c222c0a',                     -- NUL, 0xff, backslash, quote, comma, LF
    '{1,NULL,3}',
    ARRAY['a,b', 'say "hi"', '{braces}', 'back\slash', ' spaced ', 'NULL', NULL, ''],
    '{{1,NULL},{NULL,4}}',
    'ok');

-- 5: NaN, many decimals, small text/varchar/char values with non-ASCII.
INSERT INTO demo.type_zoo VALUES (
    5, 0, 0, 0, 'NaN', 'NaN',
    '3.14159265358979323846264338327950288419716939937510582097494459',
    -0.01, false,
    'comma,separated,value',
    'Zoë', 'é',
    '0044-03-15 BC', '23:59:59.999999', '0044-03-15 12:00:00 BC',
    '2024-06-01 12:34:56+05:30',          -- stored as 07:04:56 UTC: the offset is not kept
    '1 mon',
    md5('type_zoo')::uuid,
    'null',                               -- JSON null (not SQL NULL)
    '{"we\"ird key": "value", "comma,key": 1}',   -- jsonb key containing a quote
    '\x00',
    '{-2147483648,2147483647}',
    ARRAY['é', '東京', '🎉', E'line\nbreak', E'tab\there'],
    '{}',
    'happy');

-- 6: negative zero, exponent-looking numerics, CRLF/LF text, every byte value.
INSERT INTO demo.type_zoo VALUES (
    6, -1, -1, -1, '-0', '-0',
    1.2e25,
    0.00, true,
    E'crlf\r\nand lf\nend',
    ' x ', ' a',
    '1999-12-31', '00:00:00.000001', '2024-06-01 12:34:56.789012', '2024-06-01 12:34:56.789012+00',
    '00:00:00',
    NULL,
    '[1, 2.50, 1e3, -0]',                 -- json numbers keep their spelling
    '[]',
    (SELECT decode(string_agg(lpad(to_hex(b), 2, '0'), '' ORDER BY b), 'hex')
       FROM generate_series(0, 255) AS b),          -- all 256 byte values, in order
    '{NULL}', '{NULL}', NULL, NULL);

-- 7: tiny floats, tiny numeric, tab.
INSERT INTO demo.type_zoo VALUES (
    7, 1, 1, 1, 1e-45, 5e-324,
    0.0000000001,
    0.10, NULL,
    E'tab\there',
    NULL, NULL,
    '2000-02-29', NULL, '1970-01-01 00:00:00', '0044-03-15 12:00:00+00 BC',
    '-00:00:00.000001',
    NULL,
    '{}',
    'null',                               -- jsonb null scalar
    NULL, NULL, NULL, NULL, 'sad');

-- 8: largest floats, numeric -0.00, Windows path.
INSERT INTO demo.type_zoo VALUES (
    8, NULL, NULL, NULL, 3.4028235e38, 1.7976931348623157e308,
    -0.00,                                -- read back as 0.00: numeric has no -0
    NULL, NULL,
    'C:\path\to',
    NULL, NULL,
    '0001-01-01', NULL, '1969-12-31 23:59:59.999999', '1969-12-31 23:59:59.999999+00',
    '1 year -1 days +01:00:00',           -- mixed signs
    NULL,
    '  {"spaced" : true }  ',             -- json keeps surrounding whitespace
    '{"big": 123456789012345678901234567890, "tiny": 1e-30, "float": 1.5}',
    NULL, NULL, NULL, NULL, NULL);

-- 9: literal backslash-N, numeric Infinity.
INSERT INTO demo.type_zoo VALUES (
    9, NULL, NULL, NULL, 0.1, 0.30000000000000004,
    'Infinity',
    NULL, NULL,
    '\N',                                 -- backslash + N (COPY's NULL marker), not NULL
    NULL, NULL,
    '9999-12-31', NULL, '9999-12-31 23:59:59.999999', '2000-01-01 00:00:00+00',
    '36:00:00',
    NULL,
    '"line\nbreak \"quoted\" back\\slash"',
    '{"unicode": "東京 🎉", "empty": "", "nested": [[1, 2], {"deep": {"deeper": [null]}}]}',
    NULL, NULL, NULL, NULL, NULL);

-- 10: unicode soup: é, 東京, emoji, a bare zero-width joiner, an emoji ZWJ sequence, RTL.
INSERT INTO demo.type_zoo VALUES (
    10, NULL, NULL, NULL, -1.5, -2.2250738585072014e-308,
    '-Infinity',
    NULL, NULL,
    E'é 東京 🎉 a\u200Db 👩\u200D💻 שלום עולם مرحبا',
    NULL, NULL,
    '1970-01-01', NULL, '2000-02-29 00:00:00', NULL,
    NULL, NULL, NULL,
    'true',
    NULL, NULL, NULL, NULL, NULL);

-- 11: exactly '\.' (COPY's end-of-data marker).
INSERT INTO demo.type_zoo (id, c_text, c_jsonb) VALUES
    (11, '\.', '{"b": 1, "a": 2, "a": 3}');   -- jsonb: keys sorted, last duplicate wins

-- 12: a string that looks like NULL.
INSERT INTO demo.type_zoo (id, c_text, c_jsonb) VALUES
    (12, 'NULL', '{}');

-- 13: leading and trailing spaces.
INSERT INTO demo.type_zoo (id, c_text) VALUES
    (13, '  leading and trailing  ');

-- 14: everything hostile at once.
INSERT INTO demo.type_zoo (id, c_text) VALUES
    (14, E'She said "hi, there",\r\n\tthen left \\ {a,b} ''quoted'' \\N');

ANALYZE demo.type_zoo;
