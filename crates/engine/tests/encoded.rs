//! The engine fed by the real encoder: sysbench rows split into a data engine (record
//! pairs) and an index engine (index pairs); the engines' checksums add up to the
//! encoder's, as `ADMIN CHECKSUM TABLE` will compare.

use lightning_encode::ddl::parse_create_table;
use lightning_encode::{EncodeOptions, Encoder, KvChecksum, KvPairs};
use lightning_engine::{engine_uuid, EngineManager, EngineOptions, INDEX_ENGINE_ID};
use lightning_parser::{FieldKind, RowBatch};

const SYSBENCH: &str = "CREATE TABLE `sbtest1` (`id` int NOT NULL AUTO_INCREMENT, `k` int NOT NULL DEFAULT '0', \
    `c` char(120) NOT NULL DEFAULT '', `pad` char(60) NOT NULL DEFAULT '', PRIMARY KEY (`id`), KEY `k_1` (`k`))";

#[test]
fn encoded_batches_split_into_data_and_index_engines() {
    let table = parse_create_table(SYSBENCH, 100).unwrap();
    let mut enc = Encoder::new(&table, EncodeOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let opts = EngineOptions {
        local_writer_mem_cache_size: 64 << 10,
        engine_mem_cache_size: 128 << 10,
        ..Default::default()
    };
    let mgr = EngineManager::new(dir.path(), opts).unwrap();
    let data = mgr.open_engine(engine_uuid("`sb`.`sbtest1`", 0)).unwrap();
    let index = mgr
        .open_engine(engine_uuid("`sb`.`sbtest1`", INDEX_ENGINE_ID))
        .unwrap();
    let (mut dw, mut iw) = (data.writer().unwrap(), index.writer().unwrap());
    let mut want = KvChecksum::new();
    let mut pairs = KvPairs::new();
    // Batches in reverse id order, so the engines really have to sort.
    for batch_no in (0..20u64).rev() {
        let mut rows = RowBatch::new();
        for i in 0..100 {
            let id = batch_no * 100 + i + 1;
            rows.push_field(FieldKind::Number, id.to_string().as_bytes());
            rows.push_field(
                FieldKind::Number,
                ((id * 7919) % 1000).to_string().as_bytes(),
            );
            rows.push_field(FieldKind::Text, format!("{id:0>119}").as_bytes());
            rows.push_field(FieldKind::Text, b"pad");
            rows.finish_row(0);
        }
        pairs.clear();
        for (i, row) in rows.rows().enumerate() {
            let fields: Vec<_> = row.fields().collect();
            enc.encode_row(&fields, (batch_no * 100) as i64 + i as i64 + 1, &mut pairs)
                .unwrap();
        }
        want.merge(&pairs.checksum());
        dw.append_records(&pairs, batch_no).unwrap();
        iw.append_indexes(&pairs, batch_no).unwrap();
    }
    dw.close().unwrap();
    iw.close().unwrap();
    let (dc, ic) = (data.close().unwrap(), index.close().unwrap());
    assert_eq!((dc.total_kvs(), ic.total_kvs()), (2000, 2000));
    let mut got = dc.checksum().unwrap();
    got.merge(&ic.checksum().unwrap());
    assert_eq!(got, want);
    // Record keys come back in handle order.
    let keys: Vec<Vec<u8>> = dc.iter().map(|p| p.unwrap().0).collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]));
    assert!(keys.iter().all(|k| k.len() == 19 && k[9..11] == *b"_r"));
}
