-- The source tables of e2e_dumps.rs, run by the `mariadb` client after `SET NAMES utf8mb4`,
-- a permissive sql_mode and `USE <db>`. Statements end with ";" at line end.
--
-- FLOAT values have at most 6 significant digits: every dump tool prints FLOAT with
-- 6 digits (3.4028234e38 comes out as 3.40282e38), so no tool can round-trip more.
CREATE TABLE ints (
  id INT PRIMARY KEY,
  i8 TINYINT, u8 TINYINT UNSIGNED, i16 SMALLINT, u16 SMALLINT UNSIGNED,
  i24 MEDIUMINT, u24 MEDIUMINT UNSIGNED, i32 INT, u32 INT UNSIGNED,
  i64 BIGINT, u64 BIGINT UNSIGNED
);
INSERT INTO ints VALUES
  (1, -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0),
  (2, 127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295, 9223372036854775807, 18446744073709551615),
  (3, 0, 1, -1, 1, -1, 1, -1, 1, -1, 1),
  (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
CREATE TABLE nums (
  id INT PRIMARY KEY,
  d DECIMAL(10,2), dmax DECIMAL(65,30), du DECIMAL(20,0) UNSIGNED,
  f FLOAT, fd DOUBLE
);
INSERT INTO nums VALUES
  (1, -12345678.99, 99999999999999999999999999999999999.999999999999999999999999999999, 99999999999999999999, 3.40282e38, 1.7976931348623157e308),
  (2, 0.01, -99999999999999999999999999999999999.999999999999999999999999999999, 0, -1.5, -2.2250738585072014e-308),
  (3, -0.5, 0.000000000000000000000000000001, 1, 0.1, 0.1),
  (4, 0, -0.000000000000000000000000000001, 12345, -1.17549e-38, 123456789.123456789),
  (5, NULL, NULL, NULL, NULL, NULL);
CREATE TABLE strs (
  id INT PRIMARY KEY,
  c CHAR(20), vc VARCHAR(255), t TEXT, b BLOB
) DEFAULT CHARSET=utf8mb4;
INSERT INTO strs VALUES
  (1, 'it''s', 'back\\slash', 'line1\nline2\r\nline3', 'a\0b'),
  (2, 'tab\there', 'nul\0byte', 'ctrl-z \Z end', 'quote" , comma'),
  (3, '"dq"', 'comma, "both", ''single''', 'multi ÄÖÜ 中文 日本語 😀🎉', 'emoji 😀 bytes'),
  (4, '', '', '', ''),
  (5, 'NULL', '\\N', 'N', '\\'),
  (6, NULL, NULL, NULL, NULL),
  (7, ' trailing', 'x\\', '\\\n\t\0\Z"''', CONCAT('\0', '\n', '\\', '"', '''', ',', '\t'));
CREATE TABLE bins (
  id INT PRIMARY KEY,
  bn BINARY(16), vb VARBINARY(300), bb LONGBLOB
);
INSERT INTO bins
  SELECT 1, UNHEX('00FF0A0D5C27225A1A2C09000000007F'),
         (SELECT GROUP_CONCAT(CHAR(seq USING binary) ORDER BY seq SEPARATOR '') FROM seq_0_to_255),
         (SELECT GROUP_CONCAT(CHAR(255 - seq USING binary) ORDER BY seq SEPARATOR '') FROM seq_0_to_255);
INSERT INTO bins VALUES (2, '', '', ''), (3, NULL, NULL, NULL), (4, 'abc', 'N', '\\N');
CREATE TABLE times (
  id INT PRIMARY KEY,
  d DATE, dt DATETIME(6), ts TIMESTAMP NULL DEFAULT NULL, tm TIME(3), y YEAR
);
INSERT INTO times VALUES
  (1, '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', '00:00:00', 0),
  (2, '1000-01-01', '1000-01-01 00:00:00.000000', '1970-01-01 00:00:01', '-838:59:59.000', 1901),
  (3, '9999-12-31', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07', '838:59:59.000', 2155),
  (4, '2024-02-29', '2024-02-29 12:34:56.789012', '2024-02-29 12:34:56', '-00:00:01.5', 2024),
  (5, '2020-00-15', '2020-12-00 01:02:03.4', NULL, '12:34:56.789', 1999),
  (6, NULL, NULL, NULL, NULL, NULL);
CREATE TABLE misc (
  id INT PRIMARY KEY,
  e ENUM('a', 'b,c', 'd''e', 'ü'), s SET('x', 'y', 'z'), j JSON,
  b1 BIT(1), b64 BIT(64)
);
INSERT INTO misc VALUES
  (1, 'a', 'x,z', '{"k": "v", "n": [1, 2.5, null, true], "u": "é😀", "q": "a\\"b"}', b'1', b'1111111111111111111111111111111111111111111111111111111111111111'),
  (2, 'b,c', '', '[]', b'0', b'0'),
  (3, 'd''e', 'x,y,z', '"str"', b'1', 1234567890123),
  (4, 'ü', 'y', '{"nested": {"a": {"b": [{}]}}}', 0, 9223372036854775808),
  (5, '', NULL, 'null', NULL, NULL),
  (6, NULL, NULL, NULL, NULL, NULL);
CREATE TABLE nopk (a INT, b VARCHAR(10), KEY (a));
INSERT INTO nopk VALUES (1, 'x'), (1, 'x'), (2, NULL), (NULL, NULL), (NULL, NULL), (3, 'y');
CREATE TABLE gen (
  id INT PRIMARY KEY, a INT, b VARCHAR(20),
  v INT AS (a * 2) VIRTUAL, s VARCHAR(40) AS (CONCAT(b, '!')) STORED
);
INSERT INTO gen (id, a, b) VALUES (1, 1, 'one'), (2, NULL, 'two'), (3, 3, NULL);
CREATE TABLE sbtest1 (
  id INT NOT NULL AUTO_INCREMENT, k INT NOT NULL DEFAULT 0,
  c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '',
  PRIMARY KEY (id), KEY k_1 (k)
);
INSERT INTO sbtest1 (k, c, pad)
  SELECT (seq * 7919) % 5000,
         CONCAT_WS('-', LPAD(seq, 11, '0'), LPAD(seq * 3, 11, '0'), LPAD(seq * 7, 11, '0'), LPAD(seq * 11, 11, '0'), LPAD(seq * 13, 11, '0'), LPAD(seq * 17, 11, '0'), LPAD(seq * 19, 11, '0'), LPAD(seq * 23, 11, '0'), LPAD(seq * 29, 11, '0'), LPAD(seq * 31, 11, '0')),
         CONCAT_WS('-', LPAD(seq * 37, 11, '0'), LPAD(seq * 41, 11, '0'), LPAD(seq * 43, 11, '0'), LPAD(seq * 47, 11, '0'), LPAD(seq * 53, 11, '0'))
  FROM seq_1_to_5000;
