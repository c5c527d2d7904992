"""Builds source databases inside MariaDB with SQL (the SEQUENCE engine), so the dump
tools then dump real data: a sysbench-shaped table and a wide many-types table."""


def sysbench(db, server, table, rows, seed=0):
    """`table` as sysbench creates it, with `rows` rows of pseudo-random content (another
    `seed`, other content)."""
    server.query(f"""USE `{db}`;
        CREATE TABLE `{db}`.`{table}` (
          id INT NOT NULL AUTO_INCREMENT, k INT NOT NULL DEFAULT 0,
          c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '',
          PRIMARY KEY (id), KEY k_1 (k));
        INSERT INTO `{db}`.`{table}` (id, k, c, pad)
        SELECT seq, FLOOR(RAND(seq + {seed}) * {max(rows, 1)}),
               SUBSTRING(REPEAT(CONCAT(LPAD(FLOOR(RAND(seq*7 + {seed})*99999999999),11,'0'), '-'), 12), 1, 119),
               SUBSTRING(REPEAT(CONCAT(LPAD(FLOOR(RAND(seq*13 + {seed})*99999999999),11,'0'), '-'), 6), 1, 59)
        FROM seq_1_to_{rows};""")


def many_types(db, server, table, rows):
    """A wide table of most column types, with quotes, escapes, binary bytes and NULLs.

    FLOAT values are multiples of 1/8 below 125: dump tools print FLOAT with 6 significant digits,
    so any other value would change in the dump itself, whatever loader reads it back."""
    server.query(f"""USE `{db}`;
        SET SESSION sql_mode = '';
        CREATE TABLE `{db}`.`{table}` (
          id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
          i8 TINYINT, u8 TINYINT UNSIGNED, i16 SMALLINT, i24 MEDIUMINT, i64 BIGINT, u64 BIGINT UNSIGNED,
          d DECIMAL(30,10), f FLOAT, g DOUBLE,
          vc VARCHAR(200), ch CHAR(20), tx TEXT, bl BLOB, vb VARBINARY(64),
          dt DATE, dtt DATETIME(6), ts TIMESTAMP NULL, tm TIME(3), yr YEAR,
          en ENUM('a','b','c'), st SET('x','y','z'), js JSON, bt BIT(12));
        INSERT INTO `{db}`.`{table}`
        SELECT seq,
          IF(seq % 17 = 0, NULL, CAST(seq % 256 AS SIGNED) - 128), seq % 256, CAST(seq % 65536 AS SIGNED) - 32768,
          CAST(seq * 37 % 16777216 AS SIGNED) - 8388608, CAST(seq * 9973 AS SIGNED) - 4611686018427387904, seq * 1000003,
          IF(seq % 13 = 0, NULL, CAST(seq AS SIGNED) * 1.0000001 - 500000.123456789), (seq % 1000) / 8, seq / 3 * 1e200,
          CONCAT('it''s "', seq, '" \\\\ back,slash\\n', IF(seq % 5 = 0, 'ünïcödé 🚀', '')),
          LPAD(seq, 20, 'x'),
          IF(seq % 11 = 0, NULL, REPEAT(CONCAT('row ', seq, ', tab\\t nl\\n cr\\r z\\Z '), seq % 7)),
          UNHEX(SHA2(seq, 256)), UNHEX(LPAD(HEX(seq), 16, '0')),
          IF(seq % 19 = 0, '0000-00-00', DATE('2020-01-01') + INTERVAL seq % 3000 DAY),
          TIMESTAMP('2001-02-03 04:05:06.123456') + INTERVAL seq SECOND,
          IF(seq % 23 = 0, NULL, FROM_UNIXTIME(1000000000 + seq)),
          SEC_TO_TIME(CAST(seq % 1000000 AS SIGNED) - 500000) + INTERVAL 0.125 SECOND, 1901 + seq % 255,
          ELT(1 + seq % 3, 'a', 'b', 'c'), IF(seq % 4 = 0, '', 'x,z'),
          JSON_OBJECT('id', seq, 's', CONCAT('q"', seq), 'a', JSON_ARRAY(1, 2.5, NULL)), seq % 4096
        FROM seq_1_to_{rows};""")
