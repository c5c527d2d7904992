//! Property tests: memcomparable order preservation, decode(encode(x)) = x, checksum merge.

use lightning_encode::codec::bytes::{decode_bytes, encode_bytes};
use lightning_encode::codec::number::*;
use lightning_encode::codec::{decode_key_datum, encode_key, Datum};
use lightning_encode::decimal::Decimal;
use lightning_encode::rowv2::{decode_compact_int, RowV2, RowV2Encoder};
use lightning_encode::time::{Duration, Time};
use lightning_encode::KvChecksum;
use proptest::prelude::*;

fn enc(d: &Datum) -> Vec<u8> {
    let mut b = Vec::new();
    encode_key(&mut b, std::slice::from_ref(d)).unwrap();
    b
}

fn decimal() -> impl Strategy<Value = Decimal> {
    (any::<bool>(), 0u64..10_000_000_000, 0u32..1_000_000).prop_map(|(neg, i, f)| {
        Decimal::parse(format!("{}{i}.{f:06}", if neg { "-" } else { "" }).as_bytes()).unwrap()
    })
}

fn time() -> impl Strategy<Value = Time> {
    (
        1000u16..9999,
        1u8..=12,
        1u8..=28,
        0u8..24,
        0u8..60,
        0u8..60,
        0u32..1_000_000,
    )
        .prop_map(|(year, month, day, hour, minute, second, micro)| Time {
            year,
            month,
            day,
            hour,
            minute,
            second,
            micro,
        })
}

proptest! {
    #[test]
    fn int_order(a: i64, b: i64) {
        prop_assert_eq!(a.cmp(&b), enc(&Datum::Int(a)).cmp(&enc(&Datum::Int(b))));
        let (x, _) = decode_key_datum(&enc(&Datum::Int(a))).unwrap();
        prop_assert_eq!(x, Datum::Int(a));
        let mut d = Vec::new();
        encode_int_desc(&mut d, a);
        let mut e = Vec::new();
        encode_int_desc(&mut e, b);
        prop_assert_eq!(b.cmp(&a), d.cmp(&e));
    }

    #[test]
    fn uint_order(a: u64, b: u64) {
        prop_assert_eq!(a.cmp(&b), enc(&Datum::Uint(a)).cmp(&enc(&Datum::Uint(b))));
        prop_assert_eq!(decode_key_datum(&enc(&Datum::Uint(a))).unwrap().0, Datum::Uint(a));
    }

    #[test]
    fn float_order(a in any::<f64>().prop_filter("not nan", |f| !f.is_nan()), b in any::<f64>().prop_filter("not nan", |f| !f.is_nan())) {
        if a != b {
            prop_assert_eq!(a.partial_cmp(&b).unwrap(), enc(&Datum::Float(a)).cmp(&enc(&Datum::Float(b))));
        }
        let (x, _) = decode_key_datum(&enc(&Datum::Float(a))).unwrap();
        prop_assert_eq!(x, Datum::Float(a));
    }

    #[test]
    fn bytes_order(a: Vec<u8>, b: Vec<u8>) {
        let (mut ea, mut eb) = (Vec::new(), Vec::new());
        encode_bytes(&mut ea, &a);
        encode_bytes(&mut eb, &b);
        prop_assert_eq!(a.cmp(&b), ea.cmp(&eb));
        prop_assert_eq!(decode_bytes(&ea).unwrap(), (a, &[][..]));
    }

    #[test]
    fn decimal_order_and_roundtrip(a in decimal(), b in decimal()) {
        let da = Datum::Decimal { value: a, prec: 20, frac: 6 };
        let db = Datum::Decimal { value: b, prec: 20, frac: 6 };
        prop_assert_eq!(a.cmp(&b), enc(&da).cmp(&enc(&db)));
        let e = enc(&da);
        let (x, rest) = decode_key_datum(&e).unwrap();
        prop_assert!(rest.is_empty());
        match x { Datum::Decimal { value, .. } => prop_assert_eq!(value, a), other => prop_assert!(false, "{other:?}") }
    }

    #[test]
    fn duration_order(a in -3_000_000_000_000_000i64..3_000_000_000_000_000, b in -3_000_000_000_000_000i64..3_000_000_000_000_000) {
        let (da, db) = (Datum::Duration(Duration { nanos: a }), Datum::Duration(Duration { nanos: b }));
        prop_assert_eq!(a.cmp(&b), enc(&da).cmp(&enc(&db)));
        prop_assert_eq!(decode_key_datum(&enc(&da)).unwrap().0, da);
    }

    #[test]
    fn packed_time_order(a in time(), b in time()) {
        prop_assert_eq!(a.cmp(&b), enc(&Datum::Time(a)).cmp(&enc(&Datum::Time(b))));
        prop_assert_eq!(Time::from_packed(a.to_packed()), a);
    }

    #[test]
    fn varints_roundtrip(a: i64, u: u64) {
        let mut b = Vec::new();
        encode_varint(&mut b, a);
        prop_assert_eq!(decode_varint(&b).unwrap().0, a);
        b.clear();
        encode_uvarint(&mut b, u);
        prop_assert_eq!(decode_uvarint(&b).unwrap().0, u);
    }

    #[test]
    fn rowv2_roundtrip(vals in proptest::collection::btree_map(1i64..400, proptest::option::of(any::<i64>()), 0..20)) {
        let datums: Vec<(i64, Datum)> = vals.iter().map(|(id, v)| (*id, v.map_or(Datum::Null, Datum::Int))).collect();
        let mut out = Vec::new();
        RowV2Encoder::new().encode(datums.iter().map(|(i, d)| (*i, d)), &mut out).unwrap();
        let row = RowV2::parse(&out).unwrap();
        for (id, v) in &vals {
            match v {
                Some(x) => prop_assert_eq!(decode_compact_int(row.get(*id as u32).unwrap().unwrap()).unwrap(), *x),
                None => prop_assert_eq!(row.get(*id as u32), Some(None)),
            }
        }
    }

    #[test]
    fn checksum_merge_is_order_free(pairs in proptest::collection::vec((any::<Vec<u8>>(), any::<Vec<u8>>()), 0..30), split in 0usize..30) {
        let mut all = KvChecksum::new();
        pairs.iter().for_each(|(k, v)| all.update(k, v));
        let split = split.min(pairs.len());
        let (mut a, mut b) = (KvChecksum::new(), KvChecksum::new());
        pairs[..split].iter().rev().for_each(|(k, v)| a.update(k, v));
        pairs[split..].iter().for_each(|(k, v)| b.update(k, v));
        let mut ba = b;
        ba.merge(&a);
        a.merge(&b);
        prop_assert_eq!(a, all);
        prop_assert_eq!(ba, all);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    /// The `kv decode` engine never panics (the fuzz target's property, run in CI).
    #[test]
    fn explain_never_panics(data in proptest::collection::vec(any::<u8>(), 0..80), head in 0usize..4) {
        let mut d = data;
        match head { 0 => d.insert(0, b't'), 1 => d.insert(0, 0x80), _ => {} }
        let _ = lightning_encode::explain::explain(&d);
        let _ = lightning_encode::json::decode_json(&d);
    }
}
