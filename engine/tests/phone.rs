//! Phone number analysis, checked against the answers GMS 8.5 gives (Genesys' own
//! GMS_Phone_Validation_Service_API_Tests) where the crate can compute them.

// A failed unwrap is a failed test, with the value in its message.
#![allow(clippy::unwrap_used)]

use engine::phone::{self, CountryCodeSource, NumberType, PhoneError};

#[test]
fn french_mobile_in_national_format() {
    let info = phone::analyze_localized("0604120405", Some("FR"), Some("DE")).unwrap();
    assert_eq!(info.country_code, 33);
    assert_eq!(
        info.country_code_source,
        CountryCodeSource::FromDefaultCountry
    );
    assert_eq!(info.country_default, "FR");
    assert_eq!(info.extension, "");
    assert!(info.is_possible_number);
    assert!(!info.is_premium);
    assert!(info.is_valid_number);
    assert!(info.is_valid_number_for_region);
    assert!(!info.italian_leading_zero);
    assert_eq!(info.language_specified, "de");
    assert_eq!(info.number_e164, "+33604120405");
    assert_eq!(info.number_international, "+33 6 04 12 04 05");
    assert_eq!(info.number_national, "06 04 12 04 05");
    assert_eq!(info.number_national_short, 604120405);
    assert_eq!(info.number_original, "06 04 12 04 05");
    assert_eq!(info.number_specified, "0604120405");
    assert_eq!(info.number_type, NumberType::Mobile);
    assert_eq!(info.region_code, "FR");
    assert_eq!(info.time_zone, "Europe/Paris");
    // Best effort: the country, in English (GMS says "Frankreich" for locale DE).
    assert_eq!(info.location, "France");
    assert_eq!(info.carrier, "");
}

#[test]
fn german_fixed_line_with_plus() {
    let info = phone::analyze_localized("+4989125016040", Some("DE"), Some("FR")).unwrap();
    assert_eq!(info.country_code, 49);
    assert_eq!(
        info.country_code_source,
        CountryCodeSource::FromNumberWithPlusSign
    );
    assert_eq!(info.language_specified, "fr");
    assert!(info.is_valid_number_for_region);
    assert_eq!(info.number_international, "+49 89 125016040");
    assert_eq!(info.number_national, "089 125016040");
    assert_eq!(info.number_national_short, 89125016040);
    assert_eq!(info.number_original, "+49 89 125016040");
    assert_eq!(info.number_type, NumberType::FixedLine);
    assert_eq!(info.region_code, "DE");
    assert_eq!(info.time_zone, "Europe/Berlin");
}

#[test]
fn us_number_is_fixed_line_or_mobile() {
    let info = phone::analyze("+16504661100", Some("us")).unwrap();
    assert_eq!(info.country_code, 1);
    assert_eq!(info.country_default, "US");
    assert_eq!(info.language_specified, "en");
    assert_eq!(info.number_international, "+1 650-466-1100");
    assert_eq!(info.number_national, "(650) 466-1100");
    assert_eq!(info.number_type, NumberType::FixedLineOrMobile);
    assert_eq!(info.region_code, "US");
    assert!(info.is_valid_number_for_region);
    // The US spans several offsets; libphonenumber's per-prefix zones are not in the crate.
    assert_eq!(info.time_zone, "");
}

#[test]
fn national_prefix_the_caller_left_out_is_left_out_of_the_original_format() {
    let info = phone::analyze("509113790", Some("UA")).unwrap();
    assert_eq!(info.country_code, 380);
    assert_eq!(info.number_national, "050 911 3790");
    assert_eq!(info.number_original, "50 911 3790");
    assert_eq!(info.number_type, NumberType::Mobile);
}

#[test]
fn british_numbers_are_placed_in_the_right_region() {
    let london = phone::analyze("020 7946 0958", Some("GB")).unwrap();
    assert_eq!(london.number_e164, "+442079460958");
    assert_eq!(london.number_type, NumberType::FixedLine);
    assert_eq!(london.region_code, "GB");

    let mobile = phone::analyze("+44 7400 123456", None).unwrap();
    assert_eq!(mobile.number_type, NumberType::Mobile);
    assert_eq!(mobile.region_code, "GB");
    assert_eq!(mobile.country_default, "");
    assert!(!mobile.is_valid_number_for_region);
}

#[test]
fn italian_leading_zero_is_kept_for_type_and_region() {
    let info = phone::analyze("+39 02 1234 5678", Some("IT")).unwrap();
    assert!(info.italian_leading_zero);
    assert_eq!(info.number_national_short, 212345678);
    assert_eq!(info.number_e164, "+390212345678");
    assert_eq!(info.number_type, NumberType::FixedLine);
    assert_eq!(info.region_code, "IT");
    assert!(info.is_valid_number_for_region);
}

#[test]
fn premium_numbers() {
    let info = phone::analyze("+19005551234", Some("US")).unwrap();
    assert!(info.is_premium);
    assert_eq!(info.number_type, NumberType::PremiumRate);
    assert!(phone::is_premium("+19005551234", Some("US")));
    assert!(phone::is_premium("0900 1234567", Some("DE")));
    assert!(!phone::is_premium("+16504661100", Some("US")));
    assert!(!phone::is_premium("bad", Some("US")));
}

#[test]
fn impossible_numbers() {
    assert!(phone::is_impossible("111", Some("US")));
    assert!(phone::is_impossible("bad", Some("DE")));
    assert!(phone::is_impossible("", None));
    assert!(!phone::is_impossible("+16504661100", Some("US")));
    assert!(!phone::is_impossible("0604120405", Some("FR")));
}

#[test]
fn unparseable_number_has_the_gms_message() {
    let error = phone::analyze("bad", Some("DE")).unwrap_err();
    assert_eq!(
        error.to_string(),
        "Invalid Phone Number bad for Country DE (parsing impossible)"
    );
    assert_eq!(
        error,
        PhoneError::Unparseable {
            number: "bad".to_owned(),
            country: "DE".to_owned()
        }
    );
}

#[test]
fn national_number_without_a_country_cannot_be_parsed() {
    let error = phone::analyze("0604120405", None).unwrap_err();
    assert_eq!(
        error.to_string(),
        "Invalid Phone Number 0604120405 for Country null (parsing impossible)"
    );
    // An unknown country is no country at all.
    let error = phone::analyze("0604120405", Some("XX")).unwrap_err();
    assert_eq!(
        error.to_string(),
        "Invalid Phone Number 0604120405 for Country XX (parsing impossible)"
    );
}

#[test]
fn serialises_with_the_gms_field_names() {
    let info = phone::analyze("+33 1 42 68 53 00", Some("FR")).unwrap();
    let json = serde_json::to_value(&info).unwrap();
    let mut keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "carrier",
            "country-code",
            "country-code-source",
            "country-default",
            "extension",
            "is-possible-number",
            "is-premium",
            "is-valid-number",
            "is-valid-number-for-region",
            "italian-leading-zero",
            "language-specified",
            "location",
            "number-E164",
            "number-international",
            "number-national",
            "number-national-short",
            "number-original",
            "number-specified",
            "number-type",
            "region-code",
            "time-zone",
        ]
    );
    assert_eq!(json["country-code-source"], "FROM_NUMBER_WITH_PLUS_SIGN");
    assert_eq!(json["number-type"], "FIXED_LINE");
    assert_eq!(json["country-code"], 33);
}

#[test]
fn idd_and_bare_country_code_sources() {
    let idd = phone::analyze("0033 1 42 68 53 00", Some("DE")).unwrap();
    assert_eq!(
        idd.country_code_source,
        CountryCodeSource::FromNumberWithIdd
    );
    assert_eq!(idd.region_code, "FR");
    assert!(!idd.is_valid_number_for_region);

    let bare = phone::analyze("33 1 42 68 53 00", Some("FR")).unwrap();
    assert_eq!(
        bare.country_code_source,
        CountryCodeSource::FromNumberWithoutPlusSign
    );
    assert_eq!(bare.number_original, "33 1 42 68 53 00");
}

#[test]
fn extension_is_reported() {
    let info = phone::analyze("+1 650 466 1100 ext. 123", None).unwrap();
    assert_eq!(info.extension, "123");
    assert_eq!(info.number_e164, "+16504661100");
}

/// Malformed input of every shape: an error or an answer, never a panic.
#[test]
fn arbitrary_input_never_panics() {
    let alphabet: Vec<char> = "0123456789+ -()#*;=:.xetlEXT/\u{ff10}\u{0661}é中\t"
        .chars()
        .collect();
    let countries = [
        None,
        Some("US"),
        Some("DE"),
        Some("IT"),
        Some("zz"),
        Some(""),
    ];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..3000 {
        let len = (next() % 24) as usize;
        let text: String = (0..len)
            .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
            .collect();
        let country = countries[round % countries.len()];
        let _ = phone::analyze(&text, country);
        let _ = phone::is_premium(&text, country);
        let _ = phone::is_impossible(&text, country);
    }
}
