//! The two text forms of a time this crate reads and writes, without the date-time crate's own
//! parsers and printers: RFC 3339 (`2026-01-31T00:00:00Z`, in Square's answers and in a stored
//! [`TokenSet`](crate::TokenSet)) and RFC 9110's HTTP date (`Wed, 21 Oct 2026 07:28:00 GMT`, or
//! one of its two obsolete forms, in `Retry-After`).
//!
//! The type stays [`jiff::Timestamp`]; only the text is done here. jiff's general parsers and
//! printers (every ISO 8601 and Temporal form, with their error messages) were most of a
//! WebAssembly module's size, for fixed forms. `core/tests/timestamps.rs` checks these
//! functions against jiff's own over valid and invalid inputs of every shape: whatever this
//! accepts, jiff reads as the same instant, and whatever this writes is what jiff's `Display`
//! writes. The obsolete HTTP date forms, which jiff does not read, are held to hyper's `httpdate`.

use core::fmt;

use jiff::Timestamp;

const SECONDS_PER_DAY: i64 = 86_400;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * i64::from((month + 9) % 12) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date `days` after 1970-01-01: (year, month, day).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    // In range by construction: a day of 1..=31 and a month of 1..=12.
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 } as u32;
    let year = year_of_era + era * 400;
    (if month <= 2 { year + 1 } else { year }, month, day)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A cursor over ASCII text.
struct Text<'a> {
    bytes: &'a [u8],
}

impl Text<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&first, rest) = self.bytes.split_first()?;
        self.bytes = rest;
        Some(first)
    }

    fn expect(&mut self, wanted: u8) -> Option<()> {
        (self.byte()? == wanted).then_some(())
    }

    /// Exactly `n` ASCII digits.
    fn digits(&mut self, n: usize) -> Option<u32> {
        let (digits, rest) = self.bytes.split_at_checked(n)?;
        self.bytes = rest;
        digits.iter().try_fold(0u32, |value, &b| b.is_ascii_digit().then(|| value * 10 + u32::from(b - b'0')))
    }

    /// `n` digits within `low..=high`.
    fn number(&mut self, n: usize, low: u32, high: u32) -> Option<u32> {
        self.digits(n).filter(|value| (low..=high).contains(value))
    }

    /// A month's three-letter name: its number.
    fn month(&mut self) -> Option<u32> {
        let (name, rest) = self.bytes.split_first_chunk::<3>()?;
        self.bytes = rest;
        Some(MONTH_NAMES.iter().position(|m| *m == name)? as u32 + 1)
    }

    /// `HH:MM:SS`, a leap second (`60`) included.
    fn clock(&mut self) -> Option<(u32, u32, u32)> {
        let hour = self.number(2, 0, 23)?;
        self.expect(b':')?;
        let minute = self.number(2, 0, 59)?;
        self.expect(b':')?;
        Some((hour, minute, self.number(2, 0, 60)?))
    }
}

/// Reads `-MM-DD` after a year: (month, day), or `None` unless the date is a real one.
fn month_day(t: &mut Text<'_>, year: i64) -> Option<(u32, u32)> {
    t.expect(b'-')?;
    let month = t.number(2, 1, 12)?;
    t.expect(b'-')?;
    Some((month, t.number(2, 1, days_in_month(year, month))?))
}

/// Whether `text` is exactly a real calendar date written `YYYY-MM-DD` (a `Square-Version`).
pub(crate) fn is_date(text: &str) -> bool {
    let mut t = Text { bytes: text.as_bytes() };
    t.digits(4).and_then(|year| month_day(&mut t, i64::from(year))).is_some() && t.bytes.is_empty()
}

/// A timestamp from a civil UTC date and time and an offset east of UTC in seconds. A leap
/// second (`:60`) is read as `:59`, as jiff does.
fn from_civil(date: (i64, u32, u32), time: (u32, u32, u32), nanosecond: u32, offset: i64) -> Option<Timestamp> {
    let (year, month, day) = date;
    let (hour, minute, second) = time;
    let seconds = days_from_civil(year, month, day) * SECONDS_PER_DAY
        + i64::from(hour * 3600 + minute * 60 + second.min(59))
        - offset;
    Timestamp::new(seconds, i32::try_from(nanosecond).ok()?).ok()
}

/// Reads an RFC 3339 date-time: `YYYY-MM-DDTHH:MM:SS`, an optional fraction of up to nine
/// digits, then `Z` or an offset `±HH:MM`. The `T` and `Z` may be lower case and the `T` a
/// space (RFC 3339's note). Also the six-digit signed year jiff writes for a time before year 0
/// (`-000001-…`), so that whatever [`Rfc3339`] writes reads back. `None` for anything else.
pub(crate) fn parse_rfc3339(text: &str) -> Option<Timestamp> {
    let mut t = Text { bytes: text.as_bytes() };
    let year = match t.bytes.first()? {
        sign @ (b'+' | b'-') => {
            let negative = *sign == b'-';
            t.byte()?;
            let year = i64::from(t.digits(6)?);
            // jiff refuses a negative zero year.
            if negative && year == 0 {
                return None;
            }
            if negative { -year } else { year }
        }
        _ => i64::from(t.digits(4)?),
    };
    let (month, day) = month_day(&mut t, year)?;
    if !matches!(t.byte()?, b'T' | b't' | b' ') {
        return None;
    }
    let time = t.clock()?;
    let mut nanosecond = 0;
    let mut next = t.byte()?;
    if next == b'.' {
        let mut digits = 0;
        while let Some(&b) = t.bytes.first().filter(|b| b.is_ascii_digit()) {
            t.byte()?;
            digits += 1;
            if digits > 9 {
                return None;
            }
            nanosecond = nanosecond * 10 + u32::from(b - b'0');
        }
        if digits == 0 {
            return None;
        }
        nanosecond *= 10u32.pow(9 - digits);
        next = t.byte()?;
    }
    let offset = match next {
        b'Z' | b'z' => 0,
        sign @ (b'+' | b'-') => {
            let hours = t.number(2, 0, 23)?;
            t.expect(b':')?;
            let minutes = t.number(2, 0, 59)?;
            let offset = i64::from(hours * 3600 + minutes * 60);
            if sign == b'-' { -offset } else { offset }
        }
        _ => return None,
    };
    if !t.bytes.is_empty() {
        return None;
    }
    from_civil((year, month, day), time, nanosecond, offset)
}

/// Writes a timestamp as jiff's `Display` does: RFC 3339 in UTC with `Z`, the fraction of a
/// second in as few digits as keep it exact (none when it is zero), and a year before 0 or
/// after 9999 as a signed six-digit year.
///
/// ```
/// # use square_oauth::jiff::Timestamp;
/// let at = Timestamp::new(1_767_225_600, 500_000_000).unwrap();
/// assert_eq!(square_oauth::Rfc3339(at).to_string(), "2026-01-01T00:00:00.5Z");
/// assert_eq!(square_oauth::Rfc3339(at).to_string(), at.to_string());
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Rfc3339(pub Timestamp);

impl Rfc3339 {
    /// Reads an RFC 3339 date-time, as Square writes them (`2026-01-31T00:00:00Z`): a fraction
    /// of up to nine digits and an offset `±HH:MM` are allowed, `T` and `Z` in either case.
    /// `None` for anything else, jiff's wider Temporal forms included (`2026-01-31T00:00Z`,
    /// `…[UTC]`).
    ///
    /// ```
    /// use square_oauth::Rfc3339;
    /// let at = Rfc3339::parse("2026-01-31T01:00:00+01:00").unwrap();
    /// assert_eq!(Rfc3339(at).to_string(), "2026-01-31T00:00:00Z");
    /// assert!(Rfc3339::parse("2026-02-30T00:00:00Z").is_none());
    /// ```
    pub fn parse(text: &str) -> Option<Timestamp> {
        parse_rfc3339(text)
    }
}

impl fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (seconds, nanosecond) = (self.0.as_second(), self.0.subsec_nanosecond());
        // A time before 1970 with a fraction: `as_second` rounds toward zero.
        let (seconds, nanosecond) =
            if nanosecond < 0 { (seconds - 1, nanosecond + 1_000_000_000) } else { (seconds, nanosecond) };
        let (days, of_day) = (seconds.div_euclid(SECONDS_PER_DAY), seconds.rem_euclid(SECONDS_PER_DAY));
        let (year, month, day) = civil_from_days(days);
        if (0..=9999).contains(&year) {
            write!(f, "{year:04}")?;
        } else {
            write!(f, "{}{:06}", if year < 0 { '-' } else { '+' }, year.unsigned_abs())?;
        }
        let (hour, minute, second) = (of_day / 3600, of_day / 60 % 60, of_day % 60);
        write!(f, "-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}")?;
        if nanosecond != 0 {
            let mut digits = 9;
            let mut fraction = nanosecond;
            while fraction % 10 == 0 {
                fraction /= 10;
                digits -= 1;
            }
            write!(f, ".{fraction:0digits$}")?;
        }
        f.write_str("Z")
    }
}

impl fmt::Debug for Rfc3339 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The day names, from the weekday of 1970-01-01 on; the first three letters are the short name.
const DAY_NAMES: [&[u8]; 7] = [b"Thursday", b"Friday", b"Saturday", b"Sunday", b"Monday", b"Tuesday", b"Wednesday"];
const MONTH_NAMES: [&[u8; 3]; 12] =
    [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];

/// Reads an HTTP date in any of RFC 9110's three forms (section 5.6.7), as a recipient must:
/// IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT`, the obsolete RFC 850 form
/// `Sunday, 06-Nov-94 08:49:37 GMT`, and asctime's `Sun Nov  6 08:49:37 1994`, each with the day
/// name matching the date. RFC 850's two-digit year is read as 1970 to 2069, as hyper's
/// `httpdate` reads it: the RFC's own rule (a year more than 50 years ahead is the century
/// before) needs a clock, which this crate does not read.
pub(crate) fn parse_http_date(text: &str) -> Option<Timestamp> {
    let bytes = text.as_bytes();
    let name_end = bytes.iter().position(|&b| b == b',' || b == b' ')?;
    let (name, rest) = bytes.split_at(name_end);
    let mut t = Text { bytes: rest };
    // Whether the day's whole name is written (RFC 850), not its first three letters.
    let (whole_name, date, time) = if t.byte()? == b',' {
        t.expect(b' ')?;
        let day = t.digits(2)?;
        let (month, year) = if name.len() == 3 {
            // IMF-fixdate: `06 Nov 1994`.
            t.expect(b' ')?;
            let month = t.month()?;
            t.expect(b' ')?;
            (month, i64::from(t.digits(4)?))
        } else {
            // RFC 850: `06-Nov-94`.
            t.expect(b'-')?;
            let month = t.month()?;
            t.expect(b'-')?;
            let year = i64::from(t.digits(2)?);
            (month, if year < 70 { 2000 + year } else { 1900 + year })
        };
        t.expect(b' ')?;
        let time = t.clock()?;
        if t.bytes != b" GMT" {
            return None;
        }
        (name.len() != 3, (year, month, day), time)
    } else {
        // asctime: `Nov  6 08:49:37 1994`, the day a space and one digit or two digits.
        let month = t.month()?;
        t.expect(b' ')?;
        let day = if t.bytes.first() == Some(&b' ') {
            t.byte()?;
            t.digits(1)?
        } else {
            t.digits(2)?
        };
        t.expect(b' ')?;
        let time = t.clock()?;
        t.expect(b' ')?;
        let year = i64::from(t.digits(4)?);
        if !t.bytes.is_empty() {
            return None;
        }
        (false, (year, month, day), time)
    };
    let (year, month, day) = date;
    if day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let at = from_civil(date, time, 0, 0)?;
    let weekday = DAY_NAMES[at.as_second().div_euclid(SECONDS_PER_DAY).rem_euclid(7) as usize];
    (name == if whole_name { weekday } else { &weekday[..3] }).then_some(at)
}

/// `#[serde(with = "…")]` for a required timestamp in RFC 3339.
pub(crate) mod rfc3339 {
    use jiff::Timestamp;
    use serde::{Deserialize as _, Deserializer, Serializer, de::Error as _};

    pub(crate) fn serialize<S: Serializer>(at: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&super::Rfc3339(*at))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::parse_rfc3339(&text).ok_or_else(|| D::Error::custom("expected an RFC 3339 timestamp"))
    }

    /// The same for an optional one: absent or `null` is `None`.
    pub(crate) mod option {
        use jiff::Timestamp;
        use serde::{Deserialize as _, Deserializer, Serializer, de::Error as _};

        pub(crate) fn serialize<S: Serializer>(at: &Option<Timestamp>, serializer: S) -> Result<S::Ok, S::Error> {
            match at {
                Some(at) => serializer.collect_str(&super::super::Rfc3339(*at)),
                None => serializer.serialize_none(),
            }
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Timestamp>, D::Error> {
            match <Option<String>>::deserialize(deserializer)? {
                None => Ok(None),
                Some(text) => super::super::parse_rfc3339(&text)
                    .map(Some)
                    .ok_or_else(|| D::Error::custom("expected an RFC 3339 timestamp")),
            }
        }
    }
}
