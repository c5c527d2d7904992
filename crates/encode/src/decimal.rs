//! Fixed-point decimals and TiDB's binary decimal layout (MySQL `decimal2bin`).
//!
//! A [`Decimal`] keeps a sign and its digits (integer digits without leading
//! zeros, then fractional digits) inline, so it is `Copy` and never allocates.
//! The binary layout groups digits by nine from the decimal point outwards into
//! big-endian words, negates every byte of a negative number and flips the top bit.

use crate::error::CodecError;
use std::cmp::Ordering;
use std::fmt;

/// Most integer digits a DECIMAL column may have.
pub const MAX_INT_DIGITS: usize = 65;
/// Most fractional digits a DECIMAL column may have.
pub const MAX_FRAC_DIGITS: usize = 30;
const CAP: usize = MAX_INT_DIGITS + MAX_FRAC_DIGITS + 1;
const DIG2BYTES: [usize; 10] = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];
const POW10: [u32; 10] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
];

/// A signed decimal number of at most 65 integer and 30 fractional digits.
#[derive(Clone, Copy)]
pub struct Decimal {
    neg: bool,
    int_len: u8,
    frac_len: u8,
    digits: [u8; CAP],
}

/// Why a decimal literal could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    /// Not a number.
    #[error("invalid decimal syntax")]
    Syntax,
    /// More integer digits than fit.
    #[error("decimal overflow")]
    Overflow,
}

impl Default for Decimal {
    fn default() -> Self {
        Decimal {
            neg: false,
            int_len: 0,
            frac_len: 0,
            digits: [0; CAP],
        }
    }
}

impl Decimal {
    /// Zero with no fractional digits.
    pub fn zero() -> Self {
        Self::default()
    }

    /// True for a negative, non-zero value.
    pub fn is_negative(&self) -> bool {
        self.neg
    }

    /// Number of fractional digits kept (trailing zeros included).
    pub fn frac_digits(&self) -> u8 {
        self.frac_len
    }

    /// Number of significant integer digits.
    pub fn int_digits(&self) -> u8 {
        self.int_len
    }

    fn int_part(&self) -> &[u8] {
        &self.digits[..self.int_len as usize]
    }

    fn frac_part(&self) -> &[u8] {
        &self.digits[self.int_len as usize..(self.int_len + self.frac_len) as usize]
    }

    /// True when every digit is zero.
    pub fn is_zero(&self) -> bool {
        self.digits[..(self.int_len + self.frac_len) as usize]
            .iter()
            .all(|&d| d == 0)
    }

    /// Builds from sign, integer digits and fractional digits (each 0..=9).
    fn from_parts(neg: bool, int: &[u8], frac: &[u8]) -> Result<Self, DecimalError> {
        let skip = int.iter().take_while(|&&d| d == 0).count();
        let int = &int[skip..];
        if int.len() > MAX_INT_DIGITS {
            return Err(DecimalError::Overflow);
        }
        let mut d = Decimal {
            int_len: int.len() as u8,
            ..Decimal::default()
        };
        d.digits[..int.len()].copy_from_slice(int);
        let keep = frac.len().min(MAX_FRAC_DIGITS);
        d.frac_len = keep as u8;
        d.digits[int.len()..int.len() + keep].copy_from_slice(&frac[..keep]);
        d.neg = neg;
        if frac.len() > keep && frac[keep] >= 5 {
            d = d.round_up_last()?;
        }
        if d.is_zero() {
            d.neg = false;
        }
        Ok(d)
    }

    /// Adds one unit in the last kept place (away from zero).
    fn round_up_last(mut self) -> Result<Self, DecimalError> {
        let n = (self.int_len + self.frac_len) as usize;
        let mut i = n;
        while i > 0 {
            i -= 1;
            if self.digits[i] == 9 {
                self.digits[i] = 0;
            } else {
                self.digits[i] += 1;
                return Ok(self);
            }
        }
        // carry out of the top: prepend a 1
        if self.int_len as usize >= MAX_INT_DIGITS {
            return Err(DecimalError::Overflow);
        }
        self.digits.copy_within(0..n, 1);
        self.digits[0] = 1;
        self.int_len += 1;
        Ok(self)
    }

    /// Parses `[+-]digits[.digits][e[+-]exp]`, rounding beyond 30 fractional digits.
    pub fn parse(s: &[u8]) -> Result<Self, DecimalError> {
        let s = trim_ascii(s);
        let (neg, s) = match s.first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let (mant, exp) = match s.iter().position(|&c| c == b'e' || c == b'E') {
            Some(p) => {
                let e = std::str::from_utf8(&s[p + 1..])
                    .ok()
                    .and_then(|t| t.parse::<i32>().ok())
                    .ok_or(DecimalError::Syntax)?;
                (&s[..p], e)
            }
            None => (s, 0),
        };
        let (ip, fp) = match mant.iter().position(|&c| c == b'.') {
            Some(p) => (&mant[..p], &mant[p + 1..]),
            None => (mant, &[][..]),
        };
        if ip.is_empty() && fp.is_empty() {
            return Err(DecimalError::Syntax);
        }
        if !ip.iter().chain(fp).all(u8::is_ascii_digit) {
            return Err(DecimalError::Syntax);
        }
        if exp == 0 {
            let mut buf = [0u8; 160];
            if ip.len() + fp.len() > buf.len() {
                return Err(DecimalError::Overflow);
            }
            for (o, c) in buf.iter_mut().zip(ip.iter().chain(fp)) {
                *o = c - b'0';
            }
            return Self::from_parts(neg, &buf[..ip.len()], &buf[ip.len()..ip.len() + fp.len()]);
        }
        // Shift the decimal point: build all digits then split at the new point.
        let all: Vec<u8> = ip.iter().chain(fp).map(|c| c - b'0').collect();
        let point = ip.len() as i64 + i64::from(exp);
        if point > (MAX_INT_DIGITS as i64) + all.len() as i64 + 1 {
            return Err(DecimalError::Overflow);
        }
        if point <= 0 {
            let zeros = (-point) as usize;
            if zeros > MAX_FRAC_DIGITS + 1 {
                return Ok(Decimal::zero());
            }
            let mut frac = vec![0u8; zeros];
            frac.extend_from_slice(&all);
            Self::from_parts(neg, &[], &frac)
        } else if point as usize >= all.len() {
            let mut int = all.clone();
            int.resize(point as usize, 0);
            Self::from_parts(neg, &int, &[])
        } else {
            let p = point as usize;
            Self::from_parts(neg, &all[..p], &all[p..])
        }
    }

    /// Builds from an i64.
    pub fn from_i64(v: i64) -> Self {
        let mut d = Self::from_u64(v.unsigned_abs());
        d.neg = v < 0;
        d
    }

    /// Builds from a u64.
    pub fn from_u64(mut v: u64) -> Self {
        let mut tmp = [0u8; 20];
        let mut n = 0;
        while v > 0 {
            tmp[n] = (v % 10) as u8;
            v /= 10;
            n += 1;
        }
        tmp[..n].reverse();
        let mut d = Decimal::default();
        d.digits[..n].copy_from_slice(&tmp[..n]);
        d.int_len = n as u8;
        d
    }

    /// TiDB's `PrecisionAndFrac`: significant digits and fractional digits (precision ≥ 1).
    pub fn precision_and_frac(&self) -> (u8, u8) {
        let p = self.int_len + self.frac_len;
        (p.max(1), self.frac_len)
    }

    /// Rounds half away from zero (MySQL `ROUND_HALF_UP`) to `frac` digits, or pads with zeros.
    pub fn round(&self, frac: u8) -> Result<Self, DecimalError> {
        let frac = frac.min(MAX_FRAC_DIGITS as u8);
        let mut d = *self;
        if frac >= d.frac_len {
            let start = (d.int_len + d.frac_len) as usize;
            let end = (d.int_len + frac) as usize;
            d.digits[start..end].fill(0);
            d.frac_len = frac;
            return Ok(d);
        }
        let cut = (d.int_len + frac) as usize;
        let up = d.digits[cut] >= 5;
        d.frac_len = frac;
        if up {
            d = d.round_up_last()?;
        }
        if d.is_zero() {
            d.neg = false;
        }
        Ok(d)
    }

    /// True when rounding to `frac` digits would drop non-zero digits.
    pub fn loses_digits(&self, frac: u8) -> bool {
        self.frac_part().iter().skip(frac as usize).any(|&d| d != 0)
    }

    /// Size in bytes of the binary form for `(prec, frac)`.
    pub fn bin_size(prec: u8, frac: u8) -> usize {
        let intg = prec.saturating_sub(frac) as usize;
        let frac = frac as usize;
        (intg / 9) * 4 + DIG2BYTES[intg % 9] + (frac / 9) * 4 + DIG2BYTES[frac % 9]
    }

    /// Appends the binary form for DECIMAL(prec, frac); errors when the integer part does not fit.
    pub fn to_bin(&self, prec: u8, frac: u8, buf: &mut Vec<u8>) -> Result<(), CodecError> {
        if prec == 0
            || prec as usize > MAX_INT_DIGITS
            || frac > prec
            || frac as usize > MAX_FRAC_DIGITS
        {
            return Err(CodecError::Invalid("bad decimal precision/scale"));
        }
        let intg = (prec - frac) as usize;
        if self.int_len as usize > intg {
            return Err(CodecError::Invalid("decimal value overflows its precision"));
        }
        let start = buf.len();
        let int = self.int_part();
        let lead = intg - int.len();
        let int_digit = |i: usize| if i < lead { 0 } else { int[i - lead] };
        let fp = self.frac_part();
        let frac_digit = |j: usize| fp.get(j).copied().unwrap_or(0);
        // integer part: leading partial group then full groups
        let mut i = 0;
        let first = intg % 9;
        let push_group = |buf: &mut Vec<u8>, n: usize, get: &dyn Fn(usize) -> u8, from: usize| {
            let mut v: u32 = 0;
            for k in 0..n {
                v = v * 10 + u32::from(get(from + k));
            }
            let nb = DIG2BYTES[n];
            buf.extend_from_slice(&v.to_be_bytes()[4 - nb..]);
        };
        if first > 0 {
            push_group(buf, first, &int_digit, 0);
            i = first;
        }
        while i < intg {
            push_group(buf, 9, &int_digit, i);
            i += 9;
        }
        let frac = frac as usize;
        let mut j = 0;
        while j + 9 <= frac {
            push_group(buf, 9, &frac_digit, j);
            j += 9;
        }
        if frac > j {
            push_group(buf, frac - j, &frac_digit, j);
        }
        if self.neg {
            for b in &mut buf[start..] {
                *b = !*b;
            }
        }
        if let Some(b) = buf.get_mut(start) {
            *b ^= 0x80;
        }
        Ok(())
    }

    /// Decodes the binary form of DECIMAL(prec, frac), returning the value and the rest.
    pub fn from_bin(b: &[u8], prec: u8, frac: u8) -> Result<(Self, &[u8]), CodecError> {
        if prec == 0
            || prec as usize > MAX_INT_DIGITS
            || frac > prec
            || frac as usize > MAX_FRAC_DIGITS
        {
            return Err(CodecError::Invalid("bad decimal precision/scale"));
        }
        let size = Self::bin_size(prec, frac);
        if b.len() < size {
            return Err(CodecError::Truncated {
                what: "decimal",
                need: size,
                have: b.len(),
            });
        }
        let mut raw = [0u8; 48];
        raw[..size].copy_from_slice(&b[..size]);
        let neg = raw[0] & 0x80 == 0;
        raw[0] ^= 0x80;
        if neg {
            for x in &mut raw[..size] {
                *x = !*x;
            }
        }
        let intg = (prec - frac) as usize;
        let frac = frac as usize;
        let mut digits = [0u8; CAP];
        let mut nd = 0;
        let mut pos = 0;
        let mut read_group =
            |n: usize, digits: &mut [u8; CAP], nd: &mut usize| -> Result<(), CodecError> {
                let nb = DIG2BYTES[n];
                let mut v: u32 = 0;
                for &x in &raw[pos..pos + nb] {
                    v = (v << 8) | u32::from(x);
                }
                pos += nb;
                if v >= POW10[n] {
                    return Err(CodecError::Invalid("decimal group out of range"));
                }
                for k in (0..n).rev() {
                    digits[*nd + k] = ((v / POW10[n - 1 - k]) % 10) as u8;
                }
                *nd += n;
                Ok(())
            };
        let first = intg % 9;
        if first > 0 {
            read_group(first, &mut digits, &mut nd)?;
        }
        for _ in 0..intg / 9 {
            read_group(9, &mut digits, &mut nd)?;
        }
        for _ in 0..frac / 9 {
            read_group(9, &mut digits, &mut nd)?;
        }
        if frac % 9 > 0 {
            read_group(frac % 9, &mut digits, &mut nd)?;
        }
        let d = Self::from_parts(neg, &digits[..intg], &digits[intg..intg + frac])
            .map_err(|_| CodecError::Invalid("decimal overflow"))?;
        Ok((d, &b[size..]))
    }

    /// Converts to the nearest f64.
    pub fn to_f64(&self) -> f64 {
        self.to_string().parse().unwrap_or(0.0)
    }

    /// The integer part, rounded half away from zero, when it fits in i128.
    pub fn round_to_i128(&self) -> Option<i128> {
        let r = self.round(0).ok()?;
        let mut v: i128 = 0;
        for &d in r.int_part() {
            v = v.checked_mul(10)?.checked_add(i128::from(d))?;
        }
        Some(if r.neg { -v } else { v })
    }
}

fn trim_ascii(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |p| p + 1);
    &s[start..end]
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.neg {
            f.write_str("-")?;
        }
        if self.int_len == 0 {
            f.write_str("0")?;
        }
        for d in self.int_part() {
            write!(f, "{d}")?;
        }
        if self.frac_len > 0 {
            f.write_str(".")?;
            for d in self.frac_part() {
                write!(f, "{d}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Decimal({self})")
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        let (a0, b0) = (self.is_zero(), other.is_zero());
        let sa = if a0 {
            0
        } else if self.neg {
            -1
        } else {
            1
        };
        let sb = if b0 {
            0
        } else if other.neg {
            -1
        } else {
            1
        };
        if sa != sb || sa == 0 {
            return sa.cmp(&sb);
        }
        let mag = self
            .int_len
            .cmp(&other.int_len)
            .then_with(|| self.int_part().cmp(other.int_part()))
            .then_with(|| {
                let n = self.frac_len.max(other.frac_len) as usize;
                let a = (0..n).map(|i| self.frac_part().get(i).copied().unwrap_or(0));
                let b = (0..n).map(|i| other.frac_part().get(i).copied().unwrap_or(0));
                a.cmp(b)
            });
        if self.neg {
            mag.reverse()
        } else {
            mag
        }
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Decimal {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Decimal {}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn parse_round_display() {
        let d = Decimal::parse(b"-0012.3450").unwrap();
        assert_eq!(d.to_string(), "-12.3450");
        assert_eq!(d.round(2).unwrap().to_string(), "-12.35");
        assert_eq!(
            Decimal::parse(b"9.99")
                .unwrap()
                .round(1)
                .unwrap()
                .to_string(),
            "10.0"
        );
        assert_eq!(Decimal::parse(b"1.5e2").unwrap().to_string(), "150");
        assert_eq!(Decimal::parse(b"15e-3").unwrap().to_string(), "0.015");
        assert!(Decimal::parse(b"1.2.3").is_err());
        assert!(!Decimal::parse(b"-0.00").unwrap().is_negative());
    }

    #[test]
    fn bin_roundtrip() {
        let d = Decimal::parse(b"-1234567890.1234").unwrap();
        let mut b = Vec::new();
        d.to_bin(14, 4, &mut b).unwrap();
        assert_eq!(hex(&b), "7ef204c72dfb2d");
        let (back, rest) = Decimal::from_bin(&b, 14, 4).unwrap();
        assert!(rest.is_empty());
        assert_eq!(back.to_string(), "-1234567890.1234");
    }
}
