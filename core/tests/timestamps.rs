//! The crate reads and writes its two time forms itself (RFC 3339, and HTTP dates in
//! `Retry-After`), so that jiff's general parsers stay out of WebAssembly modules. Here both are
//! held to jiff's own: over valid inputs of every shape they agree exactly, and over broken ones
//! whatever the crate accepts, jiff reads as the same instant. The two obsolete HTTP date forms,
//! which jiff does not read, are held to hyper's `httpdate` and to the instant's own rendering.

use proptest::prelude::*;
use square_oauth::jiff::Timestamp;
use square_oauth::jiff::fmt::rfc2822;
use square_oauth::{RetryAfter, Rfc3339};

fn jiff_rfc3339(text: &str) -> Option<Timestamp> {
    text.parse().ok()
}

fn jiff_http_date(text: &str) -> Option<Timestamp> {
    rfc2822::DateTimeParser::new().parse_timestamp(text).ok()
}

fn ours_http_date(text: &str) -> Option<Timestamp> {
    match RetryAfter::parse(text)? {
        RetryAfter::At(at) => Some(at),
        RetryAfter::Delay(_) => None,
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Any instant jiff can hold.
fn any_timestamp() -> impl Strategy<Value = Timestamp> {
    let (min, max) = (Timestamp::MIN.as_second(), Timestamp::MAX.as_second());
    prop_oneof![
        (min..=max, 0..1_000_000_000i32),
        // Whole seconds and milliseconds, as stored times mostly are.
        (min..=max, Just(0)),
        (min..=max, (0..1000i32).prop_map(|ms| ms * 1_000_000)),
        // Around now, where Square's times are.
        (1_700_000_000i64..2_100_000_000, 0..1_000_000_000i32),
    ]
    .prop_filter_map("in range", |(second, nanosecond)| {
        let nanosecond = if second < 0 { -nanosecond } else { nanosecond };
        Timestamp::new(second, nanosecond).ok()
    })
}

/// A date that exists (year 0 to 9999), as text parts.
fn date() -> impl Strategy<Value = (i32, u32, u32)> {
    (0..=9999i32, 1..=12u32).prop_flat_map(|(year, month)| (Just(year), Just(month), 1..=days_in_month(year, month)))
}

/// An RFC 3339 date-time of any valid shape: either `T` separator case or a space, a fraction
/// of 1 to 9 digits or none, a leap second, `Z` in either case or an offset.
fn rfc3339() -> impl Strategy<Value = String> {
    let separator = prop_oneof![Just('T'), Just('t'), Just(' ')];
    let fraction = prop_oneof![Just(String::new()), "[0-9]{1,9}".prop_map(|digits| format!(".{digits}"))];
    let offset = prop_oneof![
        Just("Z".to_owned()),
        Just("z".to_owned()),
        (prop_oneof![Just('+'), Just('-')], 0..=23u32, 0..=59u32).prop_map(|(s, h, m)| format!("{s}{h:02}:{m:02}")),
    ];
    (date(), separator, 0..=23u32, 0..=59u32, 0..=60u32, fraction, offset).prop_map(
        |((year, month, day), separator, hour, minute, second, fraction, offset)| {
            format!("{year:04}-{month:02}-{day:02}{separator}{hour:02}:{minute:02}:{second:02}{fraction}{offset}")
        },
    )
}

/// An IMF-fixdate with the right day name.
fn http_date() -> impl Strategy<Value = String> {
    // From 0000-01-01 (a four-digit year) to jiff's last instant.
    (-62_167_219_200..=Timestamp::MAX.as_second()).prop_map(imf_fixdate)
}

/// The IMF-fixdate of the Unix second `second` (jiff's rendering).
fn imf_fixdate(second: i64) -> String {
    let at = Timestamp::from_second(second).unwrap();
    rfc2822::DateTimePrinter::new().timestamp_to_rfc9110_string(&at).unwrap()
}

/// `second` in RFC 850's form, `Sunday, 06-Nov-94 08:49:37 GMT` (years 1970 to 2069 only).
fn rfc850(second: i64) -> String {
    let imf = imf_fixdate(second);
    let name = match &imf[..3] {
        "Mon" => "Monday",
        "Tue" => "Tuesday",
        "Wed" => "Wednesday",
        "Thu" => "Thursday",
        "Fri" => "Friday",
        "Sat" => "Saturday",
        _ => "Sunday",
    };
    format!("{name}, {}-{}-{} {} GMT", &imf[5..7], &imf[8..11], &imf[14..16], &imf[17..25])
}

/// `second` in asctime's form, `Sun Nov  6 08:49:37 1994`, or with the day's two digits
/// (`Sun Nov 06 08:49:37 1994`), which asctime's grammar allows too.
fn asctime(second: i64, two_digit_day: bool) -> String {
    let imf = imf_fixdate(second);
    let day = if two_digit_day { &imf[5..7] } else { imf[5..7].trim_start_matches('0') };
    format!("{} {} {day:>2} {} {}", &imf[..3], &imf[8..11], &imf[17..25], &imf[12..16])
}

/// `second` written in each way one of the three forms allows: 0 IMF-fixdate, 1 RFC 850
/// (years 1970 to 2069 only), 2 asctime (both ways of writing its day).
fn written_as(form: usize, second: i64) -> Vec<String> {
    match form {
        0 => vec![imf_fixdate(second)],
        1 => vec![rfc850(second)],
        _ => vec![asctime(second, false), asctime(second, true)],
    }
}

/// The Unix second hyper's `httpdate` reads in `text` (it reads years from 1970 on).
fn httpdate_second(text: &str) -> Option<i64> {
    let at = httpdate::parse_http_date(text).ok()?;
    i64::try_from(at.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs()).ok()
}

/// From 1970-01-01 to 2069-12-31: the years RFC 850's two digits are read as.
const RFC850_SECONDS: core::ops::Range<i64> = 0..3_155_760_000;
/// From 1970-01-01 to jiff's last instant (9999-12-30T22:00:00Z).
const FOUR_DIGIT_SECONDS: core::ops::RangeInclusive<i64> = 0..=253_402_207_200;

/// Breaks `text` once: a character removed, replaced or inserted, or the text cut short.
fn broken(text: String) -> impl Strategy<Value = String> {
    let len = text.len();
    let chars = prop_oneof![
        Just('0'),
        Just('9'),
        Just(':'),
        Just('-'),
        Just('+'),
        Just('.'),
        Just(' '),
        Just('T'),
        Just('Z'),
        Just(','),
        Just('x'),
        Just('é'),
    ];
    (0..4u8, 0..=len, chars).prop_map(move |(how, at, c)| {
        let mut out: Vec<char> = text.chars().collect();
        let at = at.min(out.len());
        match how {
            0 if at < out.len() => drop(out.remove(at)),
            1 if at < out.len() => out[at] = c,
            2 => out.insert(at, c),
            _ => out.truncate(at),
        }
        out.into_iter().collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn what_is_written_is_what_jiff_writes_and_reads_back(at in any_timestamp()) {
        let written = Rfc3339(at).to_string();
        prop_assert_eq!(&written, &at.to_string());
        prop_assert_eq!(Rfc3339::parse(&written), Some(at));
    }

    #[test]
    fn every_valid_rfc3339_shape_reads_as_jiff_reads_it(text in rfc3339()) {
        let ours = Rfc3339::parse(&text);
        prop_assert_eq!(ours, jiff_rfc3339(&text), "{}", text);
        // Valid, so only the range (year 9999 past jiff's last instant) may refuse it.
        prop_assert!(ours.is_some() || text.starts_with("9999-12-3"), "{} refused", text);
    }

    #[test]
    fn a_broken_rfc3339_text_is_refused_or_read_as_jiff_reads_it(text in rfc3339().prop_flat_map(broken)) {
        if let Some(ours) = Rfc3339::parse(&text) {
            prop_assert_eq!(Some(ours), jiff_rfc3339(&text), "{}", text);
        }
    }

    #[test]
    fn a_square_version_is_a_real_date_as_jiff_reads_one(year in 0..=9999u32, month in 0..=13u32, day in 0..=32u32) {
        let text = format!("{year:04}-{month:02}-{day:02}");
        let jiff = text.parse::<square_oauth::jiff::civil::Date>().is_ok();
        prop_assert_eq!(square_oauth::SquareVersion::new(&text).is_ok(), jiff, "{}", text);
    }

    #[test]
    fn every_imf_fixdate_reads_as_jiff_reads_it(text in http_date()) {
        prop_assert_eq!(ours_http_date(&text), jiff_http_date(&text), "{}", text);
        prop_assert!(ours_http_date(&text).is_some(), "{} refused", text);
    }

    #[test]
    fn every_rfc850_date_reads_as_httpdate_reads_it(second in RFC850_SECONDS) {
        let text = rfc850(second);
        prop_assert_eq!(ours_http_date(&text).map(|at| at.as_second()), Some(second), "{}", text);
        prop_assert_eq!(httpdate_second(&text), Some(second), "{}", text);
    }

    #[test]
    fn every_asctime_date_reads_as_httpdate_reads_it(second in FOUR_DIGIT_SECONDS) {
        let text = asctime(second, false);
        prop_assert_eq!(ours_http_date(&text).map(|at| at.as_second()), Some(second), "{}", text);
        prop_assert_eq!(httpdate_second(&text), Some(second), "{}", text);
    }

    /// Whatever a broken date in any of the three forms is read as, it is that instant written
    /// in the same form: nothing else is taken for a date, a wrong day name included.
    #[test]
    fn a_broken_date_of_any_form_is_refused_or_is_its_instant_as_written(
        (form, text) in (0..3usize, FOUR_DIGIT_SECONDS).prop_flat_map(|(form, second)| {
            let second = if form == 1 { second % RFC850_SECONDS.end } else { second };
            (Just(form), broken(written_as(form, second).swap_remove(0)))
        })
    ) {
        if let Some(at) = ours_http_date(&text) {
            let written = written_as(form, at.as_second());
            // `Retry-After`'s value is read without the spaces around it.
            prop_assert!(written.iter().any(|w| w == text.trim()), "{:?} read as {:?}", text, written);
        }
    }

    #[test]
    fn a_broken_http_date_is_refused_or_read_as_jiff_reads_it(text in http_date().prop_flat_map(broken)) {
        if let Some(ours) = ours_http_date(&text) {
            prop_assert_eq!(Some(ours), jiff_http_date(&text), "{}", text);
        }
    }
}

#[test]
fn the_three_forms_of_an_http_date_name_one_instant() {
    // RFC 9110's own example, in each form.
    let second = |text: &str| ours_http_date(text).map(|at| at.as_second());
    assert_eq!(second("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
    assert_eq!(second("Sunday, 06-Nov-94 08:49:37 GMT"), Some(784_111_777));
    assert_eq!(second("Sun Nov  6 08:49:37 1994"), Some(784_111_777));
    assert_eq!(second("Sun Nov 06 08:49:37 1994"), Some(784_111_777), "asctime's day may be two digits");
    // RFC 850's two-digit year: 1970 to 2069.
    assert_eq!(second("Thursday, 01-Jan-70 00:00:00 GMT"), Some(0));
    assert_eq!(second("Tuesday, 31-Dec-69 23:59:59 GMT"), Some(3_155_759_999));
    for wrong in [
        "Mon, 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06 Nov 1994 08:49:37 GMT",
        "Sun, 06-Nov-94 08:49:37 GMT",
        "Monday, 06-Nov-94 08:49:37 GMT",
        "Sunday, 06-Nov-1994 08:49:37 GMT",
        "Sunday Nov  6 08:49:37 1994",
        "Mon Nov  6 08:49:37 1994",
        "Sun Nov 6 08:49:37 1994",
        "Sun Nov  6 08:49:37 1994 GMT",
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sunday, 06-Nov-94 08:49:37",
        "Sun Feb 30 08:49:37 1994",
        "Sun Nov  0 08:49:37 1994",
        "Sun Nov  6 24:49:37 1994",
        "Sun",
        "",
    ] {
        assert_eq!(second(wrong), None, "{wrong}");
    }
}

#[test]
fn impossible_dates_and_times_are_refused_by_both() {
    for text in [
        "2026-02-29T00:00:00Z",
        "2100-02-29T00:00:00Z",
        "2026-04-31T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-00-01T00:00:00Z",
        "2026-01-00T00:00:00Z",
        "2026-01-01T24:00:00Z",
        "2026-01-01T00:60:00Z",
        "2026-01-01T00:00:61Z",
        "2026-01-01T00:00:00.1234567890Z",
        "2026-01-01T00:00:00.Z",
        "-000000-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "",
    ] {
        assert_eq!(Rfc3339::parse(text), None, "{text}");
        assert_eq!(jiff_rfc3339(text), None, "{text}");
    }
    assert!(Rfc3339::parse("2024-02-29T00:00:00Z").is_some());
    assert!(Rfc3339::parse("2000-02-29T00:00:00Z").is_some());
}

#[test]
fn forms_jiff_reads_that_are_not_rfc3339_are_refused() {
    // Each is read by jiff's general parser (so a difference, on purpose), and none is a form
    // Square writes.
    for text in [
        "2026-01-31T00:00Z",
        "2026-01-31T00:00:00+01",
        "2026-01-31T00:00:00+0100",
        "20260131T000000Z",
        "2026-01-31T00:00:00Z[UTC]",
        "2026-01-31T00:00:00,5Z",
        "2026-01-31T00:00:00+24:00",
    ] {
        assert!(jiff_rfc3339(text).is_some(), "{text}: jiff refuses it too; drop it from this list");
        assert_eq!(Rfc3339::parse(text), None, "{text}");
    }
}

#[test]
fn an_http_date_with_the_wrong_day_name_or_another_zone_is_refused() {
    // The right day is a Wednesday.
    assert!(ours_http_date("Wed, 21 Oct 2026 07:28:00 GMT").is_some());
    assert_eq!(ours_http_date("Thu, 21 Oct 2026 07:28:00 GMT"), None);
    assert_eq!(jiff_http_date("Thu, 21 Oct 2026 07:28:00 GMT"), None);
    // RFC 2822's numeric zone and a date without its day name are not HTTP dates.
    for text in ["Wed, 21 Oct 2026 07:28:00 +0000", "21 Oct 2026 07:28:00 GMT"] {
        assert_eq!(ours_http_date(text), None, "{text}");
    }
    // The obsolete forms are, and a recipient must read them (RFC 9110, section 5.6.7).
    let at = ours_http_date("Wed, 21 Oct 2026 07:28:00 GMT");
    assert_eq!(ours_http_date("Wednesday, 21-Oct-26 07:28:00 GMT"), at);
    assert_eq!(ours_http_date("Wed Oct 21 07:28:00 2026"), at);
}
