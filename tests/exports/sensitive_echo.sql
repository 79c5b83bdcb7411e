-- Test only: sensitive parameters, to prove their values never reach the logs. PostgreSQL
-- quotes a bad :code in its error message.
-- param: token text sensitive
-- param: pin integer sensitive = 0
-- param: code text sensitive = 0
-- param: label text = public
SELECT length(:token) AS token_length, :pin AS pin, :code::integer AS code, :label AS label
