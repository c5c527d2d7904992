//! Collation sort keys against TiDB's own vectors (`pkg/util/collate/collate_test.go`,
//! `TestUTF8CollatorKey` / `TestUTF8CollatorCompare`, and the older per-collator
//! `TestGeneralCICollator` / `TestUnicodeCICollator`), plus equivalence properties.

use lightning_encode::collate::Collation;
use proptest::prelude::*;
use std::cmp::Ordering;

/// Collations in the column order of TiDB's key and compare tables (gbk ones left out).
const NAMES: [&str; 6] = [
    "binary",
    "utf8mb4_bin",
    "utf8mb4_general_ci",
    "utf8mb4_unicode_ci",
    "utf8mb4_0900_ai_ci",
    "utf8mb4_0900_bin",
];

fn coll(name: &str) -> Collation {
    Collation::from_name(name).unwrap()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

const FOO: &str = "Foo \u{a9} bar \u{1d306} baz \u{2603} qux";

#[test]
fn tidb_key_vectors() {
    #[rustfmt::skip]
    let cases: [(&str, [&str; 6]); 8] = [
        ("a", ["61", "61", "0041", "0e33", "1c47", "61"]),
        ("A", ["41", "41", "0041", "0e33", "1c47", "41"]),
        (FOO, [
            "466f6f20c2a92062617220f09d8c862062617a20e29883207175\
             78",
            "466f6f20c2a92062617220f09d8c862062617a20e29883207175\
             78",
            "0046004f004f002000a900200042004100520020fffd00200042004100\
             5a002026030020005100550058",
            "0eb90f820f82020902c502090e4a0e330fc00209fffd02090e4a0e33106a\
             020906ff02090fb4101f105a",
            "1ce51ddd1ddd0209058402091c601c471e3302090ef002091c601c471f21\
             0209091b02091e211eb51eff",
            "466f6f20c2a92062617220f09d8c862062617a20e29883207175\
             78",
        ]),
        ("a ", ["6120", "61", "0041", "0e33", "1c470209", "6120"]),
        ("\u{fdfb}", [
            "efb7bb", "efb7bb", "fdfb",
            "135e13ab0209135e13ab135013ab13b7",
            "2325239c02092325239c230b239c23b1",
            "efb7bb",
        ]),
        ("中文", [
            "e4b8ade69687", "e4b8ade69687", "4e2d6587",
            "fb40ce2dfb40e587", "fb40ce2dfb40e587", "e4b8ade69687",
        ]),
        ("갟감1", [
            "eab09feab09031", "eab09feab09031", "ac1fac100031",
            "fbc1ac1ffbc1ac100e2a", "3bf53c743cd33bf53c733ce01c3e", "eab09feab09031",
        ]),
        ("\u{ffffe}\u{fffff}", [
            "f3bfbfbef3bfbfbf", "f3bfbfbef3bfbfbf", "fffdfffd", "fffdfffd",
            "fbdffffefbdfffff", "f3bfbfbef3bfbfbf",
        ]),
    ];
    for (s, want) in cases {
        for (name, w) in NAMES.iter().zip(want) {
            assert_eq!(hex(&coll(name).key(s.as_bytes())), w, "{name} {s:?}");
        }
    }
}

#[test]
fn tidb_older_per_collator_vectors() {
    let g = coll("utf8mb4_general_ci");
    assert_eq!(hex(&g.key("😃".as_bytes())), "fffd");
    let u = coll("utf8mb4_unicode_ci");
    assert_eq!(hex(&u.key("ß".as_bytes())), "0fea0fea");
    // utf8_* names map to the same collators.
    assert_eq!(coll("utf8_general_ci"), g);
    assert_eq!(coll("utf8_unicode_ci"), u);
}

#[test]
fn tidb_compare_vectors_via_keys() {
    use Ordering::*;
    #[rustfmt::skip]
    let cases: &[(&str, &str, [Ordering; 6])] = &[
        ("a", "b", [Less, Less, Less, Less, Less, Less]),
        ("a", "A", [Greater, Greater, Equal, Equal, Equal, Greater]),
        ("\u{c0}", "A", [Greater, Greater, Equal, Equal, Equal, Greater]),
        ("abc", "abc", [Equal; 6]),
        ("abc", "ab", [Greater; 6]),
        ("😜", "😃", [Greater, Greater, Equal, Equal, Greater, Greater]),
        ("a", "a ", [Less, Equal, Equal, Equal, Less, Less]),
        ("a ", "a  ", [Less, Equal, Equal, Equal, Less, Less]),
        ("a\t", "a", [Greater; 6]),
        ("ß", "s", [Greater, Greater, Equal, Greater, Greater, Greater]),
        ("ß", "ss", [Greater, Greater, Less, Equal, Equal, Greater]),
        ("啊", "吧", [Greater; 6]),
        ("中文", "汉字", [Less; 6]),
        ("æ", "ae", [Greater, Greater, Greater, Greater, Equal, Greater]),
        ("\u{c5}", "A", [Greater, Greater, Equal, Equal, Equal, Greater]),
        ("\u{1730f}", "啊", [Greater, Greater, Greater, Greater, Less, Greater]),
        ("가", "㉡", [Greater, Greater, Greater, Greater, Less, Greater]),
        ("갟", "감1", [Greater; 6]),
        ("\u{ffffe}", "\u{fffff}", [Less, Less, Equal, Equal, Less, Less]),
    ];
    for (a, b, want) in cases {
        for (name, w) in NAMES.iter().zip(want) {
            let c = coll(name);
            let got = c.key(a.as_bytes()).cmp(&c.key(b.as_bytes()));
            assert_eq!(got, *w, "{name}: {a:?} vs {b:?}");
        }
    }
}

#[test]
fn invalid_utf8_stops_the_key() {
    for name in [
        "utf8mb4_general_ci",
        "utf8mb4_unicode_ci",
        "utf8mb4_0900_ai_ci",
    ] {
        let c = coll(name);
        assert!(c.key(&[0xff]).is_empty());
        assert_eq!(c.key(&[0x3e, 0xff, 0x3e]), c.key(&[0x3e]), "{name}");
    }
}

#[test]
fn pad_space_and_no_pad() {
    for name in [
        "utf8mb4_bin",
        "utf8_bin",
        "latin1_bin",
        "ascii_bin",
        "utf8mb4_general_ci",
        "utf8mb4_unicode_ci",
    ] {
        let c = coll(name);
        assert!(c.is_pad_space(), "{name}");
        assert_eq!(c.key(b"a   "), c.key(b"a"), "{name}");
        assert_ne!(c.key(b"a\t"), c.key(b"a"), "{name}");
    }
    for name in ["binary", "utf8mb4_0900_bin", "utf8mb4_0900_ai_ci"] {
        let c = coll(name);
        assert!(!c.is_pad_space(), "{name}");
        assert_ne!(c.key(b"a "), c.key(b"a"), "{name}");
    }
}

/// Groups of characters every `_ci` collation here treats as equal.
const EQUIV: &[&[char]] = &[
    &['a', 'A', '\u{e1}', '\u{c0}', '\u{e4}', '\u{c2}'],
    &['e', 'E', '\u{e9}', '\u{c8}', '\u{eb}'],
    &['o', 'O', '\u{f3}', '\u{d6}'],
    &['n', 'N', '\u{f1}', '\u{d1}'],
    &['z', 'Z'],
    &['1'],
    &['-'],
];

proptest! {
    #[test]
    fn equivalent_strings_share_a_key(
        picks in prop::collection::vec((0..EQUIV.len(), 0usize..8, 0usize..8), 0..24),
        pad in 0usize..3,
    ) {
        let mut a = String::new();
        let mut b = String::new();
        for (g, i, j) in picks {
            let grp = EQUIV[g];
            a.push(grp[i % grp.len()]);
            b.push(grp[j % grp.len()]);
        }
        for name in ["utf8mb4_general_ci", "utf8mb4_unicode_ci", "utf8mb4_0900_ai_ci"] {
            let c = coll(name);
            prop_assert_eq!(c.key(a.as_bytes()), c.key(b.as_bytes()), "{}", name);
        }
        b.push_str(&" ".repeat(pad));
        for name in ["utf8mb4_general_ci", "utf8mb4_unicode_ci"] {
            let c = coll(name);
            prop_assert_eq!(c.key(a.as_bytes()), c.key(b.as_bytes()), "{}", name);
        }
    }

    #[test]
    fn keys_never_panic(s in prop::collection::vec(any::<u8>(), 0..64), t in "\\PC{0,16}") {
        for name in NAMES {
            let c = coll(name);
            let _ = c.key(&s);
            let _ = c.key(t.as_bytes());
        }
    }
}
