//! Helpers of the wire-compatibility test: running protoc, fetching upstream's protos
//! through cargo, and writing text-format instances with every field set.

use prost::Message;
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, FileDescriptorSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `crates/kvproto/proto`.
pub fn our_proto_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("proto")
}

fn protoc() -> PathBuf {
    protoc_bin_vendored::protoc_bin_path().expect("vendored protoc")
}

/// The descriptors of all our protos.
pub fn our_descriptors(dir: &Path) -> FileDescriptorSet {
    let out = tempfile::tempdir().expect("tempdir");
    let set = out.path().join("set.pb");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("proto dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "proto"))
        .collect();
    files.sort();
    let status = Command::new(protoc())
        .arg(format!("-I{}", dir.display()))
        .arg(format!("--descriptor_set_out={}", set.display()))
        .args(files.iter().map(|f| f.file_name().expect("name")))
        .status()
        .expect("run protoc");
    assert!(status.success(), "protoc failed on our protos");
    FileDescriptorSet::decode(&*std::fs::read(set).expect("set")).expect("descriptor set")
}

/// Full names of every message (nested ones too, except map entries).
pub fn message_names(fds: &FileDescriptorSet) -> Vec<String> {
    fn walk(prefix: &str, m: &DescriptorProto, out: &mut Vec<String>) {
        if m.options
            .as_ref()
            .and_then(|o| o.map_entry)
            .unwrap_or(false)
        {
            return;
        }
        let name = format!("{prefix}.{}", m.name());
        for n in &m.nested_type {
            walk(&name, n, out);
        }
        out.push(name);
    }
    let mut out = Vec::new();
    for f in &fds.file {
        for m in &f.message_type {
            walk(f.package(), m, &mut out);
        }
    }
    out
}

/// Finds the directory of kvproto's protos inside the `tikv-client` crates.io package,
/// fetching it with cargo into a throwaway project.
pub fn upstream_proto_dir() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let dir = tempfile::tempdir().expect("tempdir").keep();
    std::fs::create_dir_all(dir.join("src")).expect("mkdir");
    std::fs::write(dir.join("src/lib.rs"), "").expect("lib.rs");
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"kvproto-probe\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
         [dependencies]\ntikv-client = \"=0.4.0\"\n[workspace]\n",
    )
    .expect("Cargo.toml");
    let manifest = dir.join("Cargo.toml");
    let out = Command::new(&cargo)
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(&manifest)
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo could not fetch tikv-client 0.4.0 (it ships upstream kvproto's .proto files); \
         this test needs access to the crates.io registry:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata json");
    let pkg = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .find(|p| p["name"] == "tikv-client")
        .expect("tikv-client in metadata");
    let manifest_path = PathBuf::from(pkg["manifest_path"].as_str().expect("manifest_path"));
    let proto = manifest_path.parent().expect("package dir").join("proto");
    assert!(
        proto.join("import_sstpb.proto").exists(),
        "no kvproto protos in {}",
        proto.display()
    );
    let _ = std::fs::remove_dir_all(dir);
    proto
}

fn run_protoc(args: &[String], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new(protoc())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn protoc");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write stdin");
    let out = child.wait_with_output().expect("protoc output");
    assert!(
        out.status.success(),
        "protoc {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn include_args(includes: &[&Path], file: &str, mode: &str, name: &str) -> Vec<String> {
    let mut args: Vec<String> = includes
        .iter()
        .map(|i| format!("-I{}", i.display()))
        .collect();
    args.push(format!("--{mode}={name}"));
    args.push(file.to_string());
    args
}

/// `protoc --encode`: text format to bytes.
pub fn encode_text(includes: &[&Path], file: &str, name: &str, text: &str) -> Vec<u8> {
    run_protoc(
        &include_args(includes, file, "encode", name),
        text.as_bytes(),
    )
}

/// `protoc --decode`: bytes to text format.
pub fn decode_text(includes: &[&Path], file: &str, name: &str, bytes: &[u8]) -> String {
    String::from_utf8(run_protoc(
        &include_args(includes, file, "decode", name),
        bytes,
    ))
    .expect("utf8")
}

/// True when protoc printed a field it did not know (as its number).
pub fn has_unknown_fields(text: &str) -> bool {
    text.lines()
        .any(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
}

/// Text-format instances of `name` with every field set to a distinctive value: one
/// instance per member index of its (and nested messages') oneofs.
pub fn message_texts(fds: &FileDescriptorSet, name: &str) -> Vec<String> {
    let gen = Gen { fds };
    let variants = gen.max_oneof(name, 0).max(1);
    (0..variants)
        .map(|v| {
            let mut counter = 0;
            let mut out = String::new();
            gen.message(name, v, 0, &mut counter, &mut out);
            out
        })
        .collect()
}

struct Gen<'a> {
    fds: &'a FileDescriptorSet,
}

const MAX_DEPTH: usize = 4;

impl Gen<'_> {
    fn find_message(&self, full: &str) -> &DescriptorProto {
        fn walk<'a>(
            prefix: &str,
            m: &'a DescriptorProto,
            full: &str,
        ) -> Option<&'a DescriptorProto> {
            let name = format!("{prefix}.{}", m.name());
            if name == full {
                return Some(m);
            }
            m.nested_type.iter().find_map(|n| walk(&name, n, full))
        }
        let full = full.trim_start_matches('.');
        self.fds
            .file
            .iter()
            .flat_map(|f| f.message_type.iter().map(move |m| (f.package(), m)))
            .find_map(|(p, m)| walk(p, m, full))
            .unwrap_or_else(|| panic!("no message {full}"))
    }

    /// The name of the enum's highest value (distinct from the zero default).
    fn enum_value(&self, full: &str) -> String {
        let full = full.trim_start_matches('.');
        for f in &self.fds.file {
            let mut all: Vec<(String, &prost_types::EnumDescriptorProto)> = f
                .enum_type
                .iter()
                .map(|e| (format!("{}.{}", f.package(), e.name()), e))
                .collect();
            for m in &f.message_type {
                for e in &m.enum_type {
                    all.push((format!("{}.{}.{}", f.package(), m.name(), e.name()), e));
                }
            }
            if let Some((_, e)) = all.iter().find(|(n, _)| n == full) {
                let v = e
                    .value
                    .iter()
                    .max_by_key(|v| v.number())
                    .expect("enum values");
                return v.name().to_string();
            }
        }
        panic!("no enum {full}")
    }

    fn max_oneof(&self, full: &str, depth: usize) -> usize {
        if depth > MAX_DEPTH {
            return 0;
        }
        let m = self.find_message(full);
        let own = (0..m.oneof_decl.len() as i32)
            .map(|i| m.field.iter().filter(|f| f.oneof_index == Some(i)).count())
            .max()
            .unwrap_or(0);
        let nested = m
            .field
            .iter()
            .filter(|f| f.r#type() == Type::Message)
            .map(|f| self.max_oneof(f.type_name(), depth + 1))
            .max()
            .unwrap_or(0);
        own.max(nested)
    }

    fn message(
        &self,
        full: &str,
        variant: usize,
        depth: usize,
        counter: &mut u64,
        out: &mut String,
    ) {
        let m = self.find_message(full);
        for f in &m.field {
            if let Some(i) = f.oneof_index {
                let members: Vec<_> = m
                    .field
                    .iter()
                    .filter(|g| g.oneof_index == Some(i))
                    .collect();
                if members[variant % members.len()].number() != f.number() {
                    continue;
                }
            }
            if f.r#type() == Type::Message && depth >= MAX_DEPTH {
                continue;
            }
            let times = if f.label() == Label::Repeated { 2 } else { 1 };
            for _ in 0..times {
                *counter += 1;
                let c = *counter;
                match f.r#type() {
                    Type::Message => {
                        out.push_str(&format!("{} {{\n", f.name()));
                        self.message(f.type_name(), variant, depth + 1, counter, out);
                        out.push_str("}\n");
                    }
                    Type::Enum => out.push_str(&format!(
                        "{}: {}\n",
                        f.name(),
                        self.enum_value(f.type_name())
                    )),
                    Type::String => out.push_str(&format!("{}: \"s{c}\"\n", f.name())),
                    Type::Bytes => out.push_str(&format!("{}: \"b{c}\\x00\\xff\"\n", f.name())),
                    Type::Bool => out.push_str(&format!("{}: true\n", f.name())),
                    Type::Int32
                    | Type::Sint32
                    | Type::Sfixed32
                    | Type::Int64
                    | Type::Sint64
                    | Type::Sfixed64 => out.push_str(&format!("{}: -{}\n", f.name(), c * 1000 + 7)),
                    _ => out.push_str(&format!("{}: {}\n", f.name(), c * 1000 + 7)),
                }
            }
        }
    }
}
