/* never closed
INSERT INTO t VALUES (1);