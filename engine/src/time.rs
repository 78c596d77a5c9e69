//! Points in time as the events carry them: RFC 3339 timestamps (`2026-01-05T09:30:00Z`, with
//! an offset, or a plain date meaning midnight UTC), kept as seconds since 1970 in UTC. Civil
//! dates are computed with Howard Hinnant's days-from-civil algorithm, so the engine needs no
//! time library and no clock: the caller passes the present in.

use std::fmt;

/// Seconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

/// Why a text is not a time. The messages say what a valid one looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[error("{}", self.say(polku_dsl::Lang::En))]
pub enum TimeError {
    Form,
    Date,
    Clock,
    Offset,
    /// In UTC the time would fall outside the years 0000–9999, where it could not be written
    /// back in this form (`0000-01-01` is the last evening of the year −1 in UTC).
    Range,
}

impl TimeError {
    pub const ALL: [TimeError; 5] =
        [TimeError::Form, TimeError::Date, TimeError::Clock, TimeError::Offset, TimeError::Range];

    /// The message in `lang` (`Display` is the English one).
    pub fn say(self, lang: polku_dsl::Lang) -> &'static str {
        match self {
            TimeError::Form => lang.pick(
                "not a time: write it as 2026-01-05T09:30:00+02:00 or 2026-01-05",
                "ei aika: kirjoita se muodossa 2026-01-05T09:30:00+02:00 tai 2026-01-05",
            ),
            TimeError::Date => lang.pick(
                "not a date: the month is 01–12 and the day one that the month has",
                "ei päivämäärä: kuukausi on 01–12 ja päivä jokin kuukauden päivistä",
            ),
            TimeError::Clock => lang.pick(
                "not a time of day: hours are 00–23, minutes 00–59 and seconds 00–60",
                "ei kellonaika: tunnit ovat 00–23, minuutit 00–59 ja sekunnit 00–60",
            ),
            TimeError::Offset => lang.pick(
                "not a possible UTC offset: its hours are 00–23 and its minutes 00–59, such as +02:00",
                "ei mahdollinen ero UTC-aikaan: sen tunnit ovat 00–23 ja minuutit 00–59, esimerkiksi +02:00",
            ),
            TimeError::Range => lang.pick(
                "not a time that can be written in UTC: the years are 0000–9999",
                "ei aika, jonka voi kirjoittaa UTC-aikana: vuodet ovat 0000–9999",
            ),
        }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of a day number: (year, month, day).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// The offset of Finnish time from UTC at an instant, in seconds: UTC+3 from the last Sunday
/// of March 01:00 UTC to the last Sunday of October 01:00 UTC, UTC+2 otherwise (the EU rule,
/// in force since 1996).
pub fn helsinki_offset(utc: i64) -> i64 {
    let (year, _, _) = civil_from_days(utc.div_euclid(86_400));
    let last_sunday = |month: u32| {
        let last = days_from_civil(year, month, 31);
        // Day 0 (1970-01-01) was a Thursday: Sunday has (days + 4) % 7 == 0.
        last - (last + 4).rem_euclid(7)
    };
    let start = last_sunday(3) * 86_400 + 3600;
    let end = last_sunday(10) * 86_400 + 3600;
    if (start..end).contains(&utc) {
        3 * 3600
    } else {
        2 * 3600
    }
}

/// Midnight in Finnish time at the start of a day (days since 1970).
pub fn local_midnight(days: i64) -> Timestamp {
    // Midnight is never inside a change of offset (those happen at 03:00 and 04:00 local).
    let winter = days * 86_400 - 2 * 3600;
    let summer = days * 86_400 - 3 * 3600;
    if helsinki_offset(summer) == 3 * 3600 {
        Timestamp(summer)
    } else {
        Timestamp(winter)
    }
}

impl Timestamp {
    /// The calendar date in Finnish time.
    pub fn local_date(self) -> (i64, u32, u32) {
        civil_from_days((self.0 + helsinki_offset(self.0)).div_euclid(86_400))
    }

    /// The last second of this instant's day in Finnish time.
    pub fn end_of_local_day(self) -> Timestamp {
        let day = (self.0 + helsinki_offset(self.0)).div_euclid(86_400);
        Timestamp(local_midnight(day + 1).0 - 1)
    }

    /// RFC 3339 in Finnish time: `2026-01-05T11:30:00+02:00`.
    pub fn local_text(self) -> String {
        let offset = helsinki_offset(self.0);
        let wall = self.0 + offset;
        let (y, m, d) = civil_from_days(wall.div_euclid(86_400));
        let s = wall.rem_euclid(86_400);
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+{:02}:00",
            s / 3600,
            s / 60 % 60,
            s % 60,
            offset / 3600
        )
    }

    /// `YYYY-MM-DD` of the day in Finnish time.
    pub fn local_date_text(self) -> String {
        let (y, m, d) = self.local_date();
        format!("{y:04}-{m:02}-{d:02}")
    }

    /// Parses `YYYY-MM-DD` (midnight in Finnish time), or
    /// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; `None` for anything else. The text's
    /// [`FromStr`](std::str::FromStr) implementation says why a text is not a time.
    pub fn parse(text: &str) -> Option<Timestamp> {
        text.parse().ok()
    }

    /// The calendar date in UTC.
    pub fn date(self) -> (i64, u32, u32) {
        civil_from_days(self.0.div_euclid(86_400))
    }

    /// This instant as seconds of Finnish wall-clock time, for calendar arithmetic.
    fn wall(self) -> i64 {
        self.0 + helsinki_offset(self.0)
    }

    /// The instant of a Finnish wall-clock time (the earlier one in the hour that repeats in
    /// autumn).
    fn from_wall(wall: i64) -> Timestamp {
        let summer = wall - 3 * 3600;
        if helsinki_offset(summer) == 3 * 3600 {
            Timestamp(summer)
        } else {
            Timestamp(wall - 2 * 3600)
        }
    }

    /// The same Finnish wall-clock time `days` calendar days later.
    pub fn add_days(self, days: i64) -> Timestamp {
        Timestamp::from_wall(self.wall().saturating_add(days.saturating_mul(86_400)))
    }

    /// The same time of day `months` calendar months later, the day clamped to the month's end
    /// (31 January + 1 month = 28 or 29 February), in Finnish time.
    pub fn add_months(self, months: i64) -> Timestamp {
        let wall = self.wall();
        let (year, month, day) = civil_from_days(wall.div_euclid(86_400));
        let index = year * 12 + i64::from(month) - 1 + months;
        let (year, month) = (index.div_euclid(12), (index.rem_euclid(12) + 1) as u32);
        let day = day.min(days_in_month(year, month));
        let seconds_of_day = wall.rem_euclid(86_400);
        Timestamp::from_wall(days_from_civil(year, month, day) * 86_400 + seconds_of_day)
    }

    /// `count` working days earlier (Monday to Friday in Finnish time).
    pub fn subtract_working_days(self, count: i64) -> Timestamp {
        let wall = self.wall();
        let seconds_of_day = wall.rem_euclid(86_400);
        let mut days = wall.div_euclid(86_400);
        let weeks = (count.max(0) - 1).max(0) / 5;
        days -= weeks * 7;
        let mut left = count - weeks * 5;
        while left > 0 {
            days -= 1;
            if (days + 3).rem_euclid(7) < 5 {
                left -= 1;
            }
        }
        Timestamp::from_wall(days * 86_400 + seconds_of_day)
    }

    /// `count` working days later (Monday to Friday in Finnish time; public holidays are not
    /// known here).
    pub fn add_working_days(self, count: i64) -> Timestamp {
        let wall = self.wall();
        let mut days = wall.div_euclid(86_400);
        // Whole weeks at once (any seven days in a row hold five working days), so that a long
        // count costs no more than a short one.
        let weeks = (count.max(0) - 1).max(0) / 5;
        days += weeks * 7;
        let mut left = count - weeks * 5;
        while left > 0 {
            days += 1;
            // 1970-01-01 was a Thursday: day 0 has weekday index 3 (Monday = 0).
            if (days + 3).rem_euclid(7) < 5 {
                left -= 1;
            }
        }
        Timestamp::from_wall(days * 86_400 + wall.rem_euclid(86_400))
    }
}

impl std::str::FromStr for Timestamp {
    type Err = TimeError;

    /// Parses `YYYY-MM-DD` (midnight in Finnish time), or
    /// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` (RFC 3339; `t` and a space are accepted for
    /// `T`, and `z` for `Z`).
    fn from_str(text: &str) -> Result<Timestamp, TimeError> {
        let b = text.as_bytes();
        let number = |range: std::ops::Range<usize>| -> Result<i64, TimeError> {
            let part = b.get(range).ok_or(TimeError::Form)?;
            part.iter()
                .try_fold(0i64, |n, c| c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0')))
                .ok_or(TimeError::Form)
        };
        if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(TimeError::Form);
        }
        let (year, month, day) = (number(0..4)?, number(5..7)? as u32, number(8..10)? as u32);
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return Err(TimeError::Date);
        }
        let days = days_from_civil(year, month, day);
        if b.len() == 10 {
            let time = local_midnight(days);
            return if time.date().0 >= 0 { Ok(time) } else { Err(TimeError::Range) };
        }
        if !matches!(b[10], b'T' | b't' | b' ') || b.len() < 20 || b[13] != b':' || b[16] != b':' {
            return Err(TimeError::Form);
        }
        let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
        if hour > 23 || minute > 59 || second > 60 {
            return Err(TimeError::Clock);
        }
        let mut rest = &b[19..];
        if rest.first() == Some(&b'.') {
            let digits = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 {
                return Err(TimeError::Form);
            }
            rest = &rest[1 + digits..];
        }
        let offset = match rest {
            [b'Z' | b'z'] => 0,
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
                let digits = [*h1, *h2, *m1, *m2];
                if !digits.iter().all(u8::is_ascii_digit) {
                    return Err(TimeError::Form);
                }
                let hours = i64::from((h1 - b'0') * 10 + (h2 - b'0'));
                let minutes = i64::from((m1 - b'0') * 10 + (m2 - b'0'));
                // `+24:00` or `+99:99` names no place on Earth: a typing error, not a time.
                if hours > 23 || minutes > 59 {
                    return Err(TimeError::Offset);
                }
                let value = hours * 3600 + minutes * 60;
                if *sign == b'-' {
                    -value
                } else {
                    value
                }
            }
            _ => return Err(TimeError::Form),
        };
        let time = Timestamp(days * 86_400 + hour * 3600 + minute * 60 + second - offset);
        // Every accepted time is written back as it is stored (`Display`) and read again.
        if !(0..=9999).contains(&time.date().0) {
            return Err(TimeError::Range);
        }
        Ok(time)
    }
}

impl Timestamp {
    /// Writes this instant as `YYYY-MM-DDThh:mm:ssZ` into `out`, for a year from 0 to 9999 (every
    /// year an event may have); `None` otherwise. One piece, with no formatting machinery: events
    /// are written by the hundred thousand.
    pub fn write_iso(self, out: &mut [u8; 20]) -> Option<&str> {
        let (year, month, day) = self.date();
        let year = u32::try_from(year).ok().filter(|y| *y <= 9999)?;
        let seconds = self.0.rem_euclid(86_400) as u32;
        let two = |out: &mut [u8], n: u32| {
            out[0] = b'0' + (n / 10) as u8;
            out[1] = b'0' + (n % 10) as u8;
        };
        *out = *b"0000-00-00T00:00:00Z";
        two(&mut out[0..2], year / 100);
        two(&mut out[2..4], year % 100);
        two(&mut out[5..7], month);
        two(&mut out[8..10], day);
        two(&mut out[11..13], seconds / 3600);
        two(&mut out[14..16], seconds % 3600 / 60);
        two(&mut out[17..19], seconds % 60);
        std::str::from_utf8(out).ok()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(text) = self.write_iso(&mut [0; 20]) {
            return f.write_str(text);
        }
        let (year, month, day) = self.date();
        let seconds = self.0.rem_euclid(86_400);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
            seconds / 3600,
            seconds % 3600 / 60,
            seconds % 60
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_written_the_same_in_one_piece_as_by_parts() {
        for t in [
            i64::MIN / 2,
            -62_167_219_201,
            -62_167_219_200,
            -7200,
            0,
            59,
            86_399,
            1_767_605_400,
            253_402_300_799,
            253_402_300_800,
            i64::MAX / 2,
        ] {
            let t = Timestamp(t);
            let (year, month, day) = t.date();
            let seconds = t.0.rem_euclid(86_400);
            let parts = format!(
                "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
                seconds / 3600,
                seconds % 3600 / 60,
                seconds % 60
            );
            assert_eq!(t.to_string(), parts, "{}", t.0);
            assert_eq!(t.write_iso(&mut [0; 20]).is_some(), (0..=9999).contains(&year), "{}", t.0);
        }
    }

    #[test]
    fn parses_dates_times_and_offsets() {
        // A plain date is midnight in Finland (UTC+2 in winter).
        assert_eq!(Timestamp::parse("1970-01-01"), Some(Timestamp(-7200)));
        assert_eq!(Timestamp::parse("1970-01-01T00:00:01Z"), Some(Timestamp(1)));
        let helsinki = Timestamp::parse("2026-01-05T11:30:00+02:00").unwrap();
        assert_eq!(helsinki, Timestamp::parse("2026-01-05T09:30:00.250Z").unwrap());
        assert_eq!(helsinki.to_string(), "2026-01-05T09:30:00Z");
        for bad in [
            "2026-02-30",
            "2026-13-01",
            "2026-01-05T25:00:00Z",
            "2026-01-05T09:30:00",
            "tomorrow",
            "2026-01-05T09:30:00+2",
        ] {
            assert_eq!(Timestamp::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn impossible_offsets_are_refused_with_their_reason() {
        for bad in [
            "2026-01-05T09:30:00+99:99",
            "2026-01-05T09:30:00+24:00",
            "2026-01-05T09:30:00-24:00",
            "2026-01-05T09:30:00+02:60",
            "2026-01-05T09:30:00.5+23:75",
        ] {
            assert_eq!(bad.parse::<Timestamp>(), Err(TimeError::Offset), "{bad}");
            assert_eq!(Timestamp::parse(bad), None, "{bad}");
        }
        assert!(TimeError::Offset.to_string().contains("UTC offset"));
        // The extremes of real offsets are possible, and so is RFC 3339's `-00:00`.
        for good in
            ["2026-01-05T09:30:00+23:59", "2026-01-05T09:30:00+14:00", "2026-01-05T09:30:00-00:00"]
        {
            assert!(good.parse::<Timestamp>().is_ok(), "{good}");
        }
        assert_eq!("2026-02-30".parse::<Timestamp>(), Err(TimeError::Date));
        assert_eq!("2026-01-05T24:00:00Z".parse::<Timestamp>(), Err(TimeError::Clock));
        assert_eq!("2026-01-05T09:30:00".parse::<Timestamp>(), Err(TimeError::Form));
    }

    #[test]
    fn every_accepted_time_reads_back_from_how_it_is_written() {
        for text in [
            "0000-01-01T00:00:00Z",
            "0000-01-01T00:00:00-01:00",
            "9999-12-31T23:59:59+01:00",
            "2026-06-30T23:59:60Z",
            "9999-12-31",
            "1900-01-01",
        ] {
            let time: Timestamp = text.parse().unwrap();
            assert_eq!(time.to_string().parse::<Timestamp>(), Ok(time), "{text}");
        }
        // The first is the last evening of the year −1 in UTC, the others the year 10000.
        for text in [
            "0000-01-01",
            "0000-01-01T00:30:00+01:00",
            "9999-12-31T23:59:59-00:01",
            "9999-12-31T23:59:60Z",
        ] {
            assert_eq!(text.parse::<Timestamp>(), Err(TimeError::Range), "{text}");
        }
    }

    #[test]
    fn civil_dates_round_trip() {
        for days in [-800_000i64, -1, 0, 1, 10_957, 19_782, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(days_from_civil(2000, 2, 29)), (2000, 2, 29));
    }

    #[test]
    fn months_clamp_and_working_days_skip_weekends() {
        let january_31 = Timestamp::parse("2024-01-31").unwrap();
        assert_eq!(january_31.add_months(1).local_date(), (2024, 2, 29));
        assert_eq!(january_31.add_months(13).local_date(), (2025, 2, 28));
        // Friday 2026-01-09 + 1 working day = Monday 2026-01-12; + 7 = Tuesday 2026-01-20.
        let friday = Timestamp::parse("2026-01-09").unwrap();
        assert_eq!(friday.add_working_days(1).local_date(), (2026, 1, 12));
        assert_eq!(friday.add_working_days(7).local_date(), (2026, 1, 20));
        assert_eq!(friday.add_working_days(5 * 52).local_date(), (2027, 1, 8));
    }

    #[test]
    fn dates_are_finnish_days_across_the_changes_of_offset() {
        // Winter: UTC+2; summer (from the last Sunday of March to the last of October): UTC+3.
        assert_eq!(
            Timestamp::parse("2026-01-20").unwrap(),
            Timestamp::parse("2026-01-19T22:00:00Z").unwrap()
        );
        assert_eq!(
            Timestamp::parse("2026-06-20").unwrap(),
            Timestamp::parse("2026-06-19T21:00:00Z").unwrap()
        );
        assert_eq!(helsinki_offset(Timestamp::parse("2026-03-29T00:59:59Z").unwrap().0), 7200);
        assert_eq!(helsinki_offset(Timestamp::parse("2026-03-29T01:00:00Z").unwrap().0), 10800);
        assert_eq!(helsinki_offset(Timestamp::parse("2026-10-25T00:59:59Z").unwrap().0), 10800);
        assert_eq!(helsinki_offset(Timestamp::parse("2026-10-25T01:00:00Z").unwrap().0), 7200);
        // Two weeks over the spring change stay at midnight of the same weekday.
        let before = Timestamp::parse("2026-03-20").unwrap();
        assert_eq!(before.add_days(14), Timestamp::parse("2026-04-03").unwrap());
        assert_eq!(before.add_days(14).local_date_text(), "2026-04-03");
        assert_eq!(before.add_days(14).local_text(), "2026-04-03T00:00:00+03:00");
        assert_eq!(before.local_text(), "2026-03-20T00:00:00+02:00");
        assert_eq!(Timestamp::parse(&before.add_days(14).local_text()), Some(before.add_days(14)));
        // 23:30 in Helsinki on the 20th is still the 20th there, though the 20th has ended nowhere else.
        let late = Timestamp::parse("2026-01-20T23:30:00+02:00").unwrap();
        assert_eq!(late.local_date(), (2026, 1, 20));
        assert_eq!(late.end_of_local_day(), Timestamp::parse("2026-01-20T23:59:59+02:00").unwrap());
    }
}
