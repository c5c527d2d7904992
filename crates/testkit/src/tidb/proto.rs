//! The server side of the MySQL client/server protocol, as much as a test double needs:
//! handshake v10 with `mysql_native_password` (any credentials accepted), text-protocol
//! result sets with EOF packets (`CLIENT_DEPRECATE_EOF` is not offered), OK and ERR packets.
//!
//! Packet layouts follow the MySQL protocol documentation (Protocol::HandshakeV10,
//! Protocol::HandshakeResponse41, OK_Packet, ERR_Packet, EOF_Packet, Text Resultset).

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// `CLIENT_LONG_PASSWORD`.
const LONG_PASSWORD: u32 = 0x1;
/// `CLIENT_FOUND_ROWS`.
const FOUND_ROWS: u32 = 0x2;
/// `CLIENT_LONG_FLAG`.
const LONG_FLAG: u32 = 0x4;
/// `CLIENT_CONNECT_WITH_DB`.
pub const CONNECT_WITH_DB: u32 = 0x8;
/// `CLIENT_PROTOCOL_41`.
const PROTOCOL_41: u32 = 0x200;
/// `CLIENT_TRANSACTIONS`.
const TRANSACTIONS: u32 = 0x2000;
/// `CLIENT_SECURE_CONNECTION`.
const SECURE_CONNECTION: u32 = 0x8000;
/// `CLIENT_MULTI_STATEMENTS`.
pub const MULTI_STATEMENTS: u32 = 0x10000;
/// `CLIENT_MULTI_RESULTS`.
const MULTI_RESULTS: u32 = 0x20000;
/// `CLIENT_PLUGIN_AUTH`.
const PLUGIN_AUTH: u32 = 0x80000;
/// `CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA`.
const PLUGIN_AUTH_LENENC: u32 = 0x200000;

/// The capabilities this server offers.
pub const SERVER_CAPS: u32 = LONG_PASSWORD
    | FOUND_ROWS
    | LONG_FLAG
    | CONNECT_WITH_DB
    | PROTOCOL_41
    | TRANSACTIONS
    | SECURE_CONNECTION
    | MULTI_STATEMENTS
    | MULTI_RESULTS
    | PLUGIN_AUTH
    | PLUGIN_AUTH_LENENC;

/// `SERVER_STATUS_AUTOCOMMIT`.
pub const STATUS_AUTOCOMMIT: u16 = 0x2;
/// `SERVER_MORE_RESULTS_EXISTS`.
pub const STATUS_MORE_RESULTS: u16 = 0x8;

/// Column type `MYSQL_TYPE_LONGLONG`.
pub const TYPE_LONGLONG: u8 = 0x08;
/// Column type `MYSQL_TYPE_VAR_STRING`.
pub const TYPE_VAR_STRING: u8 = 0xfd;
/// Column flag `UNSIGNED_FLAG`.
const UNSIGNED_FLAG: u16 = 0x20;

/// Largest payload of one packet; longer payloads continue in the next packet.
const MAX_PAYLOAD: usize = 0xff_ffff;

/// One column of a result set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// Column name as the client sees it.
    pub name: String,
    /// Wire type (`TYPE_LONGLONG` or `TYPE_VAR_STRING`).
    pub ty: u8,
    /// Unsigned integer column.
    pub unsigned: bool,
}

impl Column {
    /// A string column.
    pub fn text(name: &str) -> Self {
        Column {
            name: name.to_string(),
            ty: TYPE_VAR_STRING,
            unsigned: false,
        }
    }

    /// A signed BIGINT column.
    pub fn int(name: &str) -> Self {
        Column {
            name: name.to_string(),
            ty: TYPE_LONGLONG,
            unsigned: false,
        }
    }

    /// An unsigned BIGINT column.
    pub fn uint(name: &str) -> Self {
        Column {
            name: name.to_string(),
            ty: TYPE_LONGLONG,
            unsigned: true,
        }
    }
}

/// Reads and writes packets, tracking the sequence id.
pub struct PacketIo<S> {
    stream: S,
    seq: u8,
}

impl<S: AsyncRead + AsyncWrite + Unpin> PacketIo<S> {
    /// Wraps a connected stream.
    pub fn new(stream: S) -> Self {
        PacketIo { stream, seq: 0 }
    }

    /// Starts a new command phase (the client's command packet has sequence id 0).
    pub fn reset_seq(&mut self) {
        self.seq = 0;
    }

    /// Reads one logical packet (joining continuation packets); `None` on a clean EOF.
    pub async fn read(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        let mut out = Vec::new();
        loop {
            let mut hdr = [0u8; 4];
            match self.stream.read_exact(&mut hdr).await {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && out.is_empty() => {
                    return Ok(None)
                }
                Err(e) => return Err(e),
            }
            let len = u32::from_le_bytes([hdr[0], hdr[1], hdr[2], 0]) as usize;
            self.seq = hdr[3].wrapping_add(1);
            let start = out.len();
            out.resize(start + len, 0);
            self.stream.read_exact(&mut out[start..]).await?;
            if len < MAX_PAYLOAD {
                return Ok(Some(out));
            }
        }
    }

    /// Buffers one logical packet (split into wire packets as needed) into `buf`.
    fn frame(&mut self, buf: &mut Vec<u8>, payload: &[u8]) {
        let mut rest = payload;
        loop {
            let n = rest.len().min(MAX_PAYLOAD);
            let len = (n as u32).to_le_bytes();
            buf.extend_from_slice(&[len[0], len[1], len[2], self.seq]);
            buf.extend_from_slice(&rest[..n]);
            self.seq = self.seq.wrapping_add(1);
            rest = &rest[n..];
            if n < MAX_PAYLOAD {
                break;
            }
        }
    }

    /// Writes packets and flushes.
    pub async fn write_packets(&mut self, payloads: &[Vec<u8>]) -> std::io::Result<()> {
        let mut buf = Vec::new();
        for p in payloads {
            self.frame(&mut buf, p);
        }
        self.stream.write_all(&buf).await?;
        self.stream.flush().await
    }
}

/// Appends a length-encoded integer.
pub fn put_lenenc_int(buf: &mut Vec<u8>, v: u64) {
    if v < 251 {
        buf.push(v as u8);
    } else if v < 1 << 16 {
        buf.push(0xfc);
        buf.extend_from_slice(&(v as u16).to_le_bytes());
    } else if v < 1 << 24 {
        buf.push(0xfd);
        buf.extend_from_slice(&(v as u32).to_le_bytes()[..3]);
    } else {
        buf.push(0xfe);
        buf.extend_from_slice(&v.to_le_bytes());
    }
}

/// Appends a length-encoded string.
pub fn put_lenenc_str(buf: &mut Vec<u8>, s: &[u8]) {
    put_lenenc_int(buf, s.len() as u64);
    buf.extend_from_slice(s);
}

/// The initial handshake (Protocol::HandshakeV10) announcing `server_version`.
pub fn handshake(server_version: &str, conn_id: u32, scramble: &[u8; 20]) -> Vec<u8> {
    let mut p = vec![10u8];
    p.extend_from_slice(server_version.as_bytes());
    p.push(0);
    p.extend_from_slice(&conn_id.to_le_bytes());
    p.extend_from_slice(&scramble[..8]);
    p.push(0);
    p.extend_from_slice(&(SERVER_CAPS as u16).to_le_bytes());
    // utf8mb4_bin (46), TiDB's default collation.
    p.push(46);
    p.extend_from_slice(&STATUS_AUTOCOMMIT.to_le_bytes());
    p.extend_from_slice(&((SERVER_CAPS >> 16) as u16).to_le_bytes());
    p.push(21);
    p.extend_from_slice(&[0u8; 10]);
    p.extend_from_slice(&scramble[8..]);
    p.push(0);
    p.extend_from_slice(b"mysql_native_password\0");
    p
}

/// What the simulator needs from Protocol::HandshakeResponse41: the capabilities and
/// the initial database. `None` if the packet is malformed.
pub fn parse_handshake_response(p: &[u8]) -> Option<(u32, Option<String>)> {
    let caps = u32::from_le_bytes(p.get(..4)?.try_into().ok()?);
    let mut i = 32;
    let user_end = i + p.get(i..)?.iter().position(|&b| b == 0)?;
    i = user_end + 1;
    let auth_len = if caps & PLUGIN_AUTH_LENENC != 0 {
        let (n, used) = lenenc_int(p.get(i..)?)?;
        i += used;
        n as usize
    } else if caps & SECURE_CONNECTION != 0 {
        let n = *p.get(i)? as usize;
        i += 1;
        n
    } else {
        p.get(i..)?.iter().position(|&b| b == 0)? + 1
    };
    i += auth_len;
    let mut db = None;
    if caps & CONNECT_WITH_DB != 0 && i < p.len() {
        let end = i + p[i..].iter().position(|&b| b == 0).unwrap_or(p.len() - i);
        let name = String::from_utf8_lossy(&p[i..end]).into_owned();
        if !name.is_empty() {
            db = Some(name);
        }
    }
    Some((caps, db))
}

/// Decodes a length-encoded integer: (value, bytes used).
pub fn lenenc_int(b: &[u8]) -> Option<(u64, usize)> {
    let first = *b.first()?;
    let width = match first {
        0..=250 => return Some((first as u64, 1)),
        0xfc => 2,
        0xfd => 3,
        0xfe => 8,
        _ => return None,
    };
    let mut v = [0u8; 8];
    v[..width].copy_from_slice(b.get(1..1 + width)?);
    Some((u64::from_le_bytes(v), 1 + width))
}

/// An OK packet.
pub fn ok_packet(affected: u64, status: u16, warnings: u16) -> Vec<u8> {
    let mut p = vec![0u8];
    put_lenenc_int(&mut p, affected);
    put_lenenc_int(&mut p, 0);
    p.extend_from_slice(&status.to_le_bytes());
    p.extend_from_slice(&warnings.to_le_bytes());
    p
}

/// An ERR packet with MySQL error `code`, SQLSTATE `state` and `msg`.
pub fn err_packet(code: u16, state: &str, msg: &str) -> Vec<u8> {
    let mut p = vec![0xffu8];
    p.extend_from_slice(&code.to_le_bytes());
    p.push(b'#');
    let mut st = state.as_bytes().to_vec();
    st.resize(5, b'0');
    p.extend_from_slice(&st);
    p.extend_from_slice(msg.as_bytes());
    p
}

/// An EOF packet.
fn eof_packet(status: u16) -> Vec<u8> {
    let mut p = vec![0xfeu8, 0, 0];
    p.extend_from_slice(&status.to_le_bytes());
    p
}

/// A column definition (Protocol::ColumnDefinition41).
fn column_def(c: &Column) -> Vec<u8> {
    let mut p = Vec::new();
    put_lenenc_str(&mut p, b"def");
    put_lenenc_str(&mut p, b"");
    put_lenenc_str(&mut p, b"");
    put_lenenc_str(&mut p, b"");
    put_lenenc_str(&mut p, c.name.as_bytes());
    put_lenenc_str(&mut p, c.name.as_bytes());
    p.push(0x0c);
    let (charset, len): (u16, u32) = if c.ty == TYPE_LONGLONG {
        (63, 20)
    } else {
        (46, 1 << 24)
    };
    p.extend_from_slice(&charset.to_le_bytes());
    p.extend_from_slice(&len.to_le_bytes());
    p.push(c.ty);
    let flags = if c.unsigned { UNSIGNED_FLAG } else { 0 };
    p.extend_from_slice(&flags.to_le_bytes());
    p.push(0);
    p.extend_from_slice(&[0, 0]);
    p
}

/// All packets of a text result set; `status` goes into the closing EOF.
pub fn result_set(cols: &[Column], rows: &[Vec<Option<String>>], status: u16) -> Vec<Vec<u8>> {
    let mut out = Vec::with_capacity(cols.len() + rows.len() + 3);
    let mut n = Vec::new();
    put_lenenc_int(&mut n, cols.len() as u64);
    out.push(n);
    out.extend(cols.iter().map(column_def));
    out.push(eof_packet(status));
    for row in rows {
        let mut p = Vec::new();
        for v in row {
            match v {
                Some(s) => put_lenenc_str(&mut p, s.as_bytes()),
                None => p.push(0xfb),
            }
        }
        out.push(p);
    }
    out.push(eof_packet(status));
    out
}

/// All packets of a binary-protocol result set (the answer to COM_STMT_EXECUTE): integer
/// columns as 8-byte little-endian values, the others as length-encoded strings.
pub fn binary_result_set(
    cols: &[Column],
    rows: &[Vec<Option<String>>],
    status: u16,
) -> Vec<Vec<u8>> {
    let mut out = Vec::with_capacity(cols.len() + rows.len() + 3);
    let mut n = Vec::new();
    put_lenenc_int(&mut n, cols.len() as u64);
    out.push(n);
    out.extend(cols.iter().map(column_def));
    out.push(eof_packet(status));
    for row in rows {
        let mut p = vec![0u8];
        let bitmap_at = p.len();
        p.resize(bitmap_at + (cols.len() + 7 + 2) / 8, 0);
        for (i, (c, v)) in cols.iter().zip(row).enumerate() {
            match v {
                None => p[bitmap_at + (i + 2) / 8] |= 1 << ((i + 2) % 8),
                Some(s) if c.ty == TYPE_LONGLONG => {
                    let bits = if c.unsigned {
                        s.parse::<u64>().unwrap_or(0)
                    } else {
                        s.parse::<i64>().unwrap_or(0) as u64
                    };
                    p.extend_from_slice(&bits.to_le_bytes());
                }
                Some(s) => put_lenenc_str(&mut p, s.as_bytes()),
            }
        }
        out.push(p);
    }
    out.push(eof_packet(status));
    out
}

/// COM_STMT_PREPARE_OK for a statement with `params` placeholders and no announced
/// columns (column definitions come with each execution's result set).
pub fn prepare_ok(stmt_id: u32, params: u16) -> Vec<Vec<u8>> {
    let mut p = vec![0u8];
    p.extend_from_slice(&stmt_id.to_le_bytes());
    p.extend_from_slice(&0u16.to_le_bytes());
    p.extend_from_slice(&params.to_le_bytes());
    p.push(0);
    p.extend_from_slice(&0u16.to_le_bytes());
    let mut out = vec![p];
    if params > 0 {
        out.extend((0..params).map(|_| column_def(&Column::text("?"))));
        out.push(eof_packet(STATUS_AUTOCOMMIT));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenenc_round_trips_at_each_width() {
        for v in [
            0u64,
            250,
            251,
            65535,
            65536,
            (1 << 24) - 1,
            1 << 24,
            u64::MAX,
        ] {
            let mut b = Vec::new();
            put_lenenc_int(&mut b, v);
            assert_eq!(lenenc_int(&b), Some((v, b.len())), "{v}");
        }
    }

    #[test]
    fn err_packet_layout() {
        let p = err_packet(1235, "42000", "no");
        assert_eq!(&p[..4], &[0xff, 0xd3, 0x04, b'#']);
        assert_eq!(&p[4..9], b"42000");
        assert_eq!(&p[9..], b"no");
    }
}
