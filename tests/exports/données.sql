-- Test only: an export whose name is not ASCII, for the RFC 5987 filename.
SELECT 1 AS un
