//! The page languages (the six official UN languages): their names, writing direction and
//! CLDR locale; choosing one for a request; numbers and dates written the way each language
//! writes them (ICU4X with its compiled CLDR data); and numbers read back as people type them.

use actix_web::http::header::{AcceptLanguage, Header, Preference};
use actix_web::HttpRequest;
use icu_calendar::{Date, Gregorian};
use icu_datetime::fieldsets::{YMD, YMDT};
use icu_datetime::input::{DateTime, Time};
use icu_datetime::FixedCalendarDateTimeFormatter;
use icu_decimal::input::Decimal;
use icu_decimal::DecimalFormatter;
use icu_locale_core::Locale;
use icu_plurals::{PluralCategory, PluralRules};

/// A page language.
pub struct Language {
    /// The code used in `?lang=`, the cookie, `lang` attributes and file names.
    pub code: &'static str,
    /// Its name written in itself (what the language switch shows).
    pub name: &'static str,
    pub rtl: bool,
    /// The CLDR locale numbers and dates follow. Arabic pages use Western digits
    /// (`-u-nu-latn`), as United Nations documents in Arabic do.
    cldr: &'static str,
}

/// The six official languages of the United Nations, in the order the UN lists them.
pub const LANGUAGES: &[Language] = &[
    Language {
        code: "ar",
        name: "العربية",
        rtl: true,
        cldr: "ar-u-nu-latn",
    },
    Language {
        code: "zh",
        name: "中文",
        rtl: false,
        cldr: "zh-Hans",
    },
    Language {
        code: "en",
        name: "English",
        rtl: false,
        cldr: "en",
    },
    Language {
        code: "fr",
        name: "Français",
        rtl: false,
        cldr: "fr",
    },
    Language {
        code: "ru",
        name: "Русский",
        rtl: false,
        cldr: "ru",
    },
    Language {
        code: "es",
        name: "Español",
        rtl: false,
        cldr: "es",
    },
];

pub const DEFAULT: &str = "en";

/// The supported language a tag names (`fr`, `fr-CH`, `zh-Hans-CN`, `AR`), if any.
pub fn supported(tag: &str) -> Option<&'static str> {
    let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
    LANGUAGES.iter().find(|l| l.code == primary).map(|l| l.code)
}

/// The language of a page: `?lang=`, then the language cookie, then the browser's
/// `Accept-Language` (by quality, `q=0` meaning "not this one"), then English. Anything not
/// supported is passed over, never refused.
pub fn negotiate(req: &HttpRequest, cookie: Option<&str>) -> &'static str {
    asked(req)
        .or_else(|| cookie.and_then(supported))
        .or_else(|| accepted(req))
        .unwrap_or(DEFAULT)
}

/// The supported language asked for with `?lang=`, if any.
pub fn asked(req: &HttpRequest) -> Option<&'static str> {
    req.query_string()
        .split('&')
        .find_map(|kv| kv.strip_prefix("lang="))
        .and_then(supported)
}

/// The browser's most preferred supported language.
fn accepted(req: &HttpRequest) -> Option<&'static str> {
    let header = AcceptLanguage::parse(req).ok()?;
    let mut ranked: Vec<_> = header
        .0
        .iter()
        .filter(|item| item.quality > actix_web::http::header::Quality::ZERO)
        .collect();
    // Stable: equally preferred languages keep the browser's order.
    ranked.sort_by_key(|item| std::cmp::Reverse(item.quality));
    ranked.into_iter().find_map(|item| match &item.item {
        Preference::Specific(tag) => supported(tag.primary_language()),
        Preference::Any => None,
    })
}

/// A language's number and date formats, built once from ICU4X's compiled CLDR data.
pub struct Formats {
    decimal: DecimalFormatter,
    /// CLDR's cardinal plural rules: which form of a word goes with a number.
    plurals: PluralRules,
    datetime: FixedCalendarDateTimeFormatter<Gregorian, YMDT>,
    /// The decimal mark and the digit-group mark of the language, as the formatter writes them.
    decimal_mark: char,
    group_mark: char,
}

/// CLDR's name of a plural category, as the strings' keys end (`age_days-few`).
pub fn category_name(c: PluralCategory) -> &'static str {
    match c {
        PluralCategory::Zero => "zero",
        PluralCategory::One => "one",
        PluralCategory::Two => "two",
        PluralCategory::Few => "few",
        PluralCategory::Many => "many",
        PluralCategory::Other => "other",
    }
}

/// A language whose CLDR data does not load (a build defect: the data is compiled in).
#[derive(Debug, thiserror::Error)]
#[error("number and date formats for {0}")]
pub struct FormatsError(pub &'static str);

impl Formats {
    pub fn new(lang: &Language) -> Result<Formats, FormatsError> {
        let locale: Locale = lang.cldr.parse().map_err(|_| FormatsError(lang.code))?;
        let decimal = DecimalFormatter::try_new((&locale).into(), Default::default())
            .map_err(|_| FormatsError(lang.code))?;
        let plurals =
            PluralRules::try_new_cardinal((&locale).into()).map_err(|_| FormatsError(lang.code))?;
        let datetime =
            FixedCalendarDateTimeFormatter::try_new((&locale).into(), YMD::medium().with_time_hm())
                .map_err(|_| FormatsError(lang.code))?;
        // The marks are read off the formatter's own output rather than kept in a second table.
        let sample = decimal
            .format(
                &"1234567.5"
                    .parse::<Decimal>()
                    .map_err(|_| FormatsError(lang.code))?,
            )
            .to_string();
        let marks: Vec<char> = sample
            .chars()
            .filter(|c| !c.is_ascii_digit() && !matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}'))
            .collect();
        let (Some(&group_mark), Some(&decimal_mark)) = (marks.first(), marks.last()) else {
            return Err(FormatsError(lang.code));
        };
        Ok(Formats {
            decimal,
            plurals,
            datetime,
            decimal_mark,
            group_mark,
        })
    }

    /// A whole number with the language's digit grouping (`250 000`, `250,000`, `250.000`).
    pub fn integer(&self, n: i64) -> String {
        self.decimal.format(&Decimal::from(n)).to_string()
    }

    /// A number with exactly `places` decimal places.
    pub fn fixed(&self, v: f64, places: usize) -> String {
        self.text_number(&format!("{v:.places$}"))
    }

    /// A number as stored, with as many decimal places as it has.
    pub fn number(&self, v: f64) -> String {
        self.text_number(&v.to_string())
    }

    /// A stored number as a form field shows it, written so that `read_number` reads it back
    /// as the same number: `1.125` on an English page would be refused as ambiguous when the
    /// form comes back, so it is shown as `1.1250`.
    pub fn editable(&self, v: f64) -> String {
        let shown = self.number(v);
        if self.read_number(&shown) == Ok(v) {
            return shown;
        }
        let places = v.to_string().split_once('.').map_or(0, |(_, f)| f.len());
        self.fixed(v, places + 1)
    }

    /// The plural forms the language has (CLDR's categories: `one`, `few`, `other`…).
    pub fn plural_forms(&self) -> Vec<&'static str> {
        self.plurals.categories().map(category_name).collect()
    }

    /// A count in a sentence: the form of the sentence (`<key>-<category>` in the language's
    /// strings, by CLDR's plural rules) that goes with `n` written with `places` decimal
    /// places, and `{n}` written the language's way. "1 working day", "2,5 рабочего дня",
    /// "5 حالات".
    pub fn counted(
        &self,
        t: &dyn Fn(String) -> String,
        key: &str,
        n: f64,
        places: usize,
    ) -> String {
        let digits = format!("{n:.places$}");
        let category = digits
            .parse::<Decimal>()
            .map_or(PluralCategory::Other, |d| self.plurals.category_for(&d));
        t(format!("{key}-{}", category_name(category))).replace("{n}", &self.text_number(&digits))
    }

    /// `digits` is Rust's plain rendering of a finite f64 (no exponent), which ICU4X parses.
    fn text_number(&self, digits: &str) -> String {
        digits
            .parse::<Decimal>()
            .map(|d| self.decimal.format(&d).to_string())
            .unwrap_or_else(|_| digits.to_string())
    }

    /// A date and time (UTC) at medium length: `15 mars 2026, 14:05`, `2026年3月15日 14:05`.
    pub fn datetime(&self, t: chrono::NaiveDateTime) -> String {
        use chrono::{Datelike, Timelike};
        let date = u8::try_from(t.month())
            .ok()
            .zip(u8::try_from(t.day()).ok())
            .and_then(|(m, d)| Date::try_new_gregorian(t.year(), m, d).ok());
        let time = u8::try_from(t.hour())
            .ok()
            .zip(u8::try_from(t.minute()).ok())
            .and_then(|(h, m)| Time::try_new(h, m, 0, 0).ok());
        match (date, time) {
            (Some(date), Some(time)) => self.datetime.format(&DateTime { date, time }).to_string(),
            _ => t.format("%Y-%m-%d %H:%M").to_string(),
        }
    }

    /// A number as typed into a form in this language. Spaces of any width, `_` and `'`
    /// between digits are ignored; Arabic-Indic digits and marks are read too. With both `,`
    /// and `.`, the last is the decimal mark. A lone `,` or `.` followed by exactly three
    /// digits groups digits when it is this language's group mark (`250,000` in English,
    /// `250.000` in Spanish); otherwise it could as well be a decimal mark, so it is refused as
    /// ambiguous rather than guessed. Any other lone mark is a decimal mark (`2,5`, `2.5`).
    pub fn read_number(&self, typed: &str) -> Result<f64, NumberError> {
        let mut s = String::new();
        for c in typed.trim().chars() {
            match c {
                '0'..='9' | ',' | '.' => s.push(c),
                '-' | '\u{2212}' if s.is_empty() => s.push('-'),
                '\u{0660}'..='\u{0669}' => s.push(arabic_digit(c, '\u{0660}')),
                '\u{06f0}'..='\u{06f9}' => s.push(arabic_digit(c, '\u{06f0}')),
                '\u{066b}' => s.push('.'),
                '_' | '\'' | '\u{066c}' | '\u{200e}' | '\u{200f}' | '\u{061c}' => {}
                _ if c.is_whitespace() => {}
                _ => return Err(NumberError::NotANumber),
            }
        }
        let (neg, body) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s.as_str()),
        };
        let value = self.unsigned(body)?;
        Ok(if neg { -value } else { value })
    }

    fn unsigned(&self, body: &str) -> Result<f64, NumberError> {
        let marks: Vec<(usize, char)> = body
            .char_indices()
            .filter(|(_, c)| !c.is_ascii_digit())
            .collect();
        let Some(&(last_at, last)) = marks.last() else {
            return plain(body, None);
        };
        if marks.iter().any(|(_, c)| *c != last) {
            // Both marks: the last one is the decimal mark, the other groups digits.
            let int = &body[..last_at];
            if int.contains(last) {
                return Err(NumberError::NotANumber);
            }
            let other = if last == ',' { '.' } else { ',' };
            let int = ungrouped(int, other).ok_or(NumberError::NotANumber)?;
            return plain(&int, Some(&body[last_at + 1..]));
        }
        if marks.len() > 1 {
            return plain(&ungrouped(body, last).ok_or(NumberError::NotANumber)?, None);
        }
        match ungrouped(body, last) {
            Some(whole) if self.group_mark == last && self.decimal_mark != last => {
                plain(&whole, None)
            }
            Some(whole) => Err(NumberError::Ambiguous {
                whole: plain(&whole, None)?,
            }),
            None => plain(&body[..last_at], Some(&body[last_at + 1..])),
        }
    }
}

/// `int` without its group marks, if they group its digits by three (`1,250,000`).
fn ungrouped(int: &str, mark: char) -> Option<String> {
    let groups: Vec<&str> = int.split(mark).collect();
    let (first, rest) = groups.split_first()?;
    let valid = (1..=3).contains(&first.len())
        && (rest.is_empty() || !first.starts_with('0'))
        && groups.iter().all(|g| all_digits(g))
        && rest.iter().all(|g| g.len() == 3);
    valid.then(|| groups.concat())
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_digit())
}

/// Digits, and decimal digits after the mark if any.
fn plain(int: &str, frac: Option<&str>) -> Result<f64, NumberError> {
    if !all_digits(int) || frac.is_some_and(|f| !all_digits(f)) {
        return Err(NumberError::NotANumber);
    }
    let text = match frac {
        Some(f) => format!("{int}.{f}"),
        None => int.to_string(),
    };
    text.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .ok_or(NumberError::NotANumber)
}

fn arabic_digit(c: char, zero: char) -> char {
    char::from_digit(u32::from(c) - u32::from(zero), 10).unwrap_or('?')
}

/// Why a typed number was not read.
#[derive(Debug, PartialEq)]
pub enum NumberError {
    NotANumber,
    /// `250.000` on a French page: a quarter of a million, or 250? `whole` is the first reading.
    Ambiguous {
        whole: f64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn formats(code: &str) -> Formats {
        Formats::new(LANGUAGES.iter().find(|l| l.code == code).unwrap()).unwrap()
    }

    #[test]
    fn the_browsers_preferred_supported_language_wins_by_quality() {
        let pick = |header: &str| {
            let req = TestRequest::default()
                .insert_header(("Accept-Language", header))
                .to_http_request();
            negotiate(&req, None)
        };
        assert_eq!(pick("de-CH, ar;q=0.9, fr;q=0.8"), "ar");
        assert_eq!(pick("ru;q=0.2, es-MX;q=0.7, en;q=0.5"), "es");
        assert_eq!(pick("zh-Hans-CN"), "zh");
        assert_eq!(pick("fr;q=0, ru;q=0.1"), "ru");
        assert_eq!(pick("de, *;q=0.5"), "en");
        assert_eq!(pick("not a language tag at all;;"), "en");
        let none = TestRequest::default().to_http_request();
        assert_eq!(negotiate(&none, None), "en");
    }

    #[test]
    fn the_query_then_the_cookie_come_before_the_browser_and_unknown_codes_are_ignored() {
        let req = TestRequest::with_uri("/?lang=zh")
            .insert_header(("Accept-Language", "fr"))
            .to_http_request();
        assert_eq!(negotiate(&req, Some("ru")), "zh");
        let req = TestRequest::with_uri("/?lang=xx")
            .insert_header(("Accept-Language", "fr"))
            .to_http_request();
        assert_eq!(negotiate(&req, Some("ru")), "ru");
        assert_eq!(negotiate(&req, Some("klingon")), "fr");
    }

    #[test]
    fn numbers_and_dates_are_written_as_each_language_writes_them() {
        let when = chrono::NaiveDate::from_ymd_opt(2026, 3, 15)
            .unwrap()
            .and_hms_opt(14, 5, 0)
            .unwrap();
        for (code, big, half) in [
            ("en", "250,000", "2.5"),
            ("fr", "250\u{202f}000", "2,5"),
            ("es", "250.000", "2,5"),
            ("ru", "250\u{a0}000", "2,5"),
            ("zh", "250,000", "2.5"),
            ("ar", "250,000", "2.5"),
        ] {
            let f = formats(code);
            assert_eq!(f.integer(250_000), big, "{code}");
            assert_eq!(f.fixed(2.46, 1), half, "{code}");
            assert_eq!(f.number(2.5), half, "{code}");
            assert!(f.datetime(when).contains("2026"), "{code}");
        }
        assert_eq!(formats("en").editable(1.125), "1.1250");
        assert_eq!(formats("fr").editable(250_000.0), "250\u{202f}000");
        for code in ["ar", "zh", "en", "fr", "ru", "es"] {
            let f = formats(code);
            for v in [1.125, 250_000.0, 0.5, 1_250_000.75, -12.345, 42.0] {
                assert_eq!(f.read_number(&f.editable(v)), Ok(v), "{code} {v}");
            }
        }
        assert_eq!(formats("fr").datetime(when), "15 mars 2026, 14:05");
        assert_eq!(formats("zh").datetime(when), "2026年3月15日 14:05");
    }

    #[test]
    fn numbers_are_read_with_the_languages_own_group_and_decimal_marks() {
        for (code, typed, want) in [
            ("en", "250,000", 250000.0),
            ("en", "250 000", 250000.0),
            ("en", "1,250,000.5", 1250000.5),
            ("en", "2,5", 2.5),
            ("en", "-5", -5.0),
            ("fr", "250 000", 250000.0),
            ("fr", "250\u{202f}000", 250000.0),
            ("fr", "2,5", 2.5),
            ("fr", "1 250 000,75", 1250000.75),
            ("es", "250.000", 250000.0),
            ("es", "1.250.000,5", 1250000.5),
            ("es", "0,125", 0.125),
            ("ru", "250 000", 250000.0),
            ("zh", "250,000", 250000.0),
            ("ar", "٢٥٠٬٠٠٠", 250000.0),
            ("ar", "2٫5", 2.5),
            ("en", "12.5", 12.5),
        ] {
            assert_eq!(
                formats(code).read_number(typed),
                Ok(want),
                "{code} {typed:?}"
            );
        }
        for (code, typed) in [
            ("en", "250.000"),
            ("zh", "1.125"),
            ("fr", "250.000"),
            ("fr", "250,000"),
            ("ru", "250,000"),
            ("es", "250,000"),
        ] {
            assert!(
                matches!(formats(code).read_number(typed), Err(NumberError::Ambiguous { whole }) if whole > 1000.0),
                "{code} {typed:?}"
            );
        }
        for bad in [
            "",
            "abc",
            "1,2,3",
            "1,23,456",
            "NaN",
            "inf",
            "5-",
            "1.2.3,4,5",
        ] {
            assert_eq!(
                formats("en").read_number(bad),
                Err(NumberError::NotANumber),
                "{bad:?}"
            );
        }
    }
}
