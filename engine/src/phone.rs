//! Phone number analysis for `GET /genesys/1/phonenumber` (gms-api.md §3.9) and the callback
//! number checks (`_disallow_premium_phone_numbers`, `_disallow_impossible_phone_numbers`),
//! on the `phonenumber` crate, a port of Google's libphonenumber (which GMS uses).
//!
//! Every field GMS answers is present. What the crate cannot compute is filled as follows:
//! * `carrier`: always empty (libphonenumber's carrier mapper data is not in the crate).
//! * `location`: the English name of the number's country when the number is valid, else
//!   empty. GMS answers the city or state where libphonenumber's geocoder knows it
//!   ("California", "Munich"), localised to `geocodingLocale`; Ringback does neither.
//! * `time-zone`: for a valid number, the IANA zone of its country when the whole country
//!   keeps one offset (FR → `Europe/Paris`, DE → `Europe/Berlin`), else empty (US, CA, RU,
//!   AU, BR, MX, ES, PT…), where libphonenumber would pick a zone from the number's prefix.
//! * Numbers the crate refuses to parse (`111` in the US) are "parsing impossible" errors,
//!   where libphonenumber may parse them and answer `is-possible-number: false`.
//! * `number-original`: libphonenumber's "original format", approximated: international
//!   format when the number was dialled with `+` or an IDD, international without `+` when
//!   with a bare country code, else national format, without the national prefix when the
//!   caller did not dial one.
//!
//! The crate is third-party code fed with request data, so calls into it run under
//! `catch_unwind`: a panic in it becomes the "parsing impossible" error, never a crashed
//! worker.

use std::fmt::Write as _;
use std::panic::{self, AssertUnwindSafe};

use phonenumber::country::{self, Source};
use phonenumber::metadata::{Metadata, DATABASE};
use phonenumber::{Mode, PhoneNumber};
use serde::Serialize;

/// A number that cannot be analysed. The message is GMS's, word for word.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// `country` is the requested default country as given, or `null` when none was (GMS
    /// prints Java's `null`).
    #[error("Invalid Phone Number {number} for Country {country} (parsing impossible)")]
    Unparseable { number: String, country: String },
}

/// How the country code was found (libphonenumber's `CountryCodeSource`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CountryCodeSource {
    FromNumberWithPlusSign,
    FromNumberWithIdd,
    FromNumberWithoutPlusSign,
    FromDefaultCountry,
}

/// libphonenumber's `PhoneNumberType`, serialised as its Java name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NumberType {
    FixedLine,
    Mobile,
    FixedLineOrMobile,
    TollFree,
    PremiumRate,
    SharedCost,
    Voip,
    PersonalNumber,
    Pager,
    Uan,
    Voicemail,
    Unknown,
}

/// The answer of `GET /genesys/1/phonenumber`, field for field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct PhoneInfo {
    /// Always empty (see the module docs).
    pub carrier: String,
    pub country_code: u16,
    pub country_code_source: CountryCodeSource,
    /// The requested default country, upper-cased; empty when none.
    pub country_default: String,
    pub extension: String,
    pub is_possible_number: bool,
    pub is_premium: bool,
    pub is_valid_number: bool,
    /// Valid, and in the requested default country.
    pub is_valid_number_for_region: bool,
    pub italian_leading_zero: bool,
    /// The requested geocoding locale, lower-cased; `en` when none.
    pub language_specified: String,
    /// Best effort (see the module docs).
    pub location: String,
    #[serde(rename = "number-E164")]
    pub number_e164: String,
    pub number_international: String,
    pub number_national: String,
    /// The national significant number without leading zeros.
    pub number_national_short: u64,
    /// Best effort (see the module docs).
    pub number_original: String,
    /// The number as given.
    pub number_specified: String,
    pub number_type: NumberType,
    /// The number's region (ISO 3166 code), `ZZ` when unknown.
    pub region_code: String,
    /// Best effort (see the module docs).
    pub time_zone: String,
}

/// Analyses `number`, read as dialled in `country` (ISO 3166 code, any case) unless it has a
/// country code of its own.
pub fn analyze(number: &str, country: Option<&str>) -> Result<PhoneInfo, PhoneError> {
    analyze_localized(number, country, None)
}

/// [`analyze`] with the request's `geocodingLocale` (echoed as `language-specified`).
pub fn analyze_localized(
    number: &str,
    country: Option<&str>,
    locale: Option<&str>,
) -> Result<PhoneInfo, PhoneError> {
    let unparseable = || PhoneError::Unparseable {
        number: number.to_owned(),
        country: country.unwrap_or("null").to_owned(),
    };
    let country_default = country.map(|c| c.trim().to_ascii_uppercase());
    let region = country_default.as_deref().and_then(region_id);
    let language = locale
        .map(|l| l.trim().to_ascii_lowercase())
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| "en".to_owned());
    guarded(|| {
        let parsed = phonenumber::parse(region, number).ok()?;
        describe(
            &parsed,
            number,
            region,
            country_default.unwrap_or_default(),
            language,
        )
    })
    .ok_or_else(unparseable)
}

/// Whether `number` is a premium-rate number (for `_disallow_premium_phone_numbers`). A
/// number that cannot be parsed is not premium.
pub fn is_premium(number: &str, country: Option<&str>) -> bool {
    let region = country.and_then(|c| region_id(&c.trim().to_ascii_uppercase()));
    guarded(|| {
        let parsed = phonenumber::parse(region, number).ok()?;
        let meta = region_metadata(&parsed)?;
        Some(type_of(&parsed, meta) == NumberType::PremiumRate)
    })
    .unwrap_or(false)
}

/// Whether `number` cannot be a phone number at all (for `_disallow_impossible_phone_numbers`):
/// it does not parse, or its length fits no number of its country (libphonenumber's
/// `isPossibleNumber`). `111` in the US is impossible.
pub fn is_impossible(number: &str, country: Option<&str>) -> bool {
    let region = country.and_then(|c| region_id(&c.trim().to_ascii_uppercase()));
    guarded(|| {
        let parsed = phonenumber::parse(region, number).ok()?;
        Some(!is_possible(&parsed))
    })
    .unwrap_or(true)
}

/// Runs a call into the `phonenumber` crate, turning a panic into `None`.
fn guarded<T>(f: impl FnOnce() -> Option<T>) -> Option<T> {
    panic::catch_unwind(AssertUnwindSafe(f)).ok().flatten()
}

fn region_id(code: &str) -> Option<country::Id> {
    code.parse().ok()
}

fn describe(
    parsed: &PhoneNumber,
    specified: &str,
    region: Option<country::Id>,
    country_default: String,
    language: String,
) -> Option<PhoneInfo> {
    let international = format(parsed, Mode::International)?;
    let national = format(parsed, Mode::National)?;
    let e164 = format(parsed, Mode::E164)?;
    let number_meta = region_metadata(parsed);
    let number_type = number_meta.map_or(NumberType::Unknown, |meta| type_of(parsed, meta));
    let is_valid = number_type != NumberType::Unknown;
    let region_code = number_meta.map_or("ZZ", Metadata::id).to_owned();
    let source = match parsed.code().source() {
        Source::Plus => CountryCodeSource::FromNumberWithPlusSign,
        Source::Idd => CountryCodeSource::FromNumberWithIdd,
        Source::Number => CountryCodeSource::FromNumberWithoutPlusSign,
        Source::Default => CountryCodeSource::FromDefaultCountry,
    };
    let original = original_format(parsed, specified, source, &international, &national);
    // Like libphonenumber's geocoder and time-zone mapper, say nothing about invalid numbers.
    let (location, time_zone) = region_facts(&region_code)
        .filter(|_| is_valid)
        .map(|(name, zone)| (name.to_owned(), zone.to_owned()))
        .unwrap_or_default();
    let for_region = region.is_some_and(|id| id.as_ref() == region_code);
    Some(PhoneInfo {
        carrier: String::new(),
        country_code: parsed.code().value(),
        country_code_source: source,
        country_default,
        extension: parsed
            .extension()
            .map(|e| e.to_string())
            .unwrap_or_default(),
        is_possible_number: is_possible(parsed),
        is_premium: number_type == NumberType::PremiumRate,
        is_valid_number: is_valid,
        is_valid_number_for_region: is_valid && for_region,
        italian_leading_zero: parsed.national().zeros() > 0,
        language_specified: language,
        location,
        number_e164: e164,
        number_international: international,
        number_national: national,
        number_national_short: parsed.national().value(),
        number_original: original,
        number_specified: specified.to_owned(),
        number_type,
        region_code,
        time_zone,
    })
}

/// Formats without `to_string`, whose `Display` fails (and would panic) for an unknown
/// country code.
fn format(parsed: &PhoneNumber, mode: Mode) -> Option<String> {
    let mut out = String::new();
    write!(out, "{}", parsed.format().mode(mode)).ok()?;
    Some(out)
}

/// The national significant number, with an Italian leading zero if any.
fn significant(parsed: &PhoneNumber) -> String {
    parsed.national().to_string()
}

/// The metadata of the region the number belongs to (libphonenumber's
/// `getRegionCodeForNumber`). Done here rather than with `PhoneNumber::metadata`, which drops
/// the Italian leading zero and so misplaces numbers such as `+39 06 …`.
fn region_metadata(parsed: &PhoneNumber) -> Option<&'static Metadata> {
    let regions = DATABASE.region(&parsed.code().value())?;
    if let [only] = regions.as_slice() {
        return DATABASE.by_id(*only);
    }
    // libphonenumber tries the main country first (GB before GG, IM and JE; IT before VA).
    let mut candidates: Vec<&'static Metadata> = regions
        .into_iter()
        .filter_map(|r| DATABASE.by_id(r))
        .collect();
    candidates.sort_by_key(|meta| (!meta.is_main_country_for_code(), meta.id()));
    let national = significant(parsed);
    candidates
        .into_iter()
        .find(|meta| match meta.leading_digits() {
            Some(leading) => leading.find(&national).is_some_and(|m| m.start() == 0),
            None => type_of(parsed, meta) != NumberType::Unknown,
        })
}

/// The main region's metadata for the number's country code.
fn code_metadata(parsed: &PhoneNumber) -> Option<&'static Metadata> {
    let all = DATABASE.by_code(&parsed.code().value())?;
    all.iter()
        .find(|meta| meta.is_main_country_for_code())
        .or_else(|| all.first())
        .copied()
}

/// libphonenumber's `getNumberType` against one region's metadata.
fn type_of(parsed: &PhoneNumber, meta: &Metadata) -> NumberType {
    let national = significant(parsed);
    let descriptors = meta.descriptors();
    let matches = |descriptor: Option<&phonenumber::metadata::Descriptor>| {
        descriptor.is_some_and(|d| d.is_match(&national))
    };
    if !descriptors.general().is_match(&national) {
        return NumberType::Unknown;
    }
    let ordered = [
        (descriptors.premium_rate(), NumberType::PremiumRate),
        (descriptors.toll_free(), NumberType::TollFree),
        (descriptors.shared_cost(), NumberType::SharedCost),
        (descriptors.voip(), NumberType::Voip),
        (descriptors.personal_number(), NumberType::PersonalNumber),
        (descriptors.pager(), NumberType::Pager),
        (descriptors.uan(), NumberType::Uan),
        (descriptors.voicemail(), NumberType::Voicemail),
    ];
    if let Some((_, kind)) = ordered.into_iter().find(|(d, _)| matches(*d)) {
        return kind;
    }
    match (
        matches(descriptors.fixed_line()),
        matches(descriptors.mobile()),
    ) {
        (true, true) => NumberType::FixedLineOrMobile,
        (true, false) => NumberType::FixedLine,
        (false, true) => NumberType::Mobile,
        (false, false) => NumberType::Unknown,
    }
}

/// libphonenumber's `isPossibleNumber`: the national significant number's length is one the
/// country uses (for full or local-only numbers).
fn is_possible(parsed: &PhoneNumber) -> bool {
    let Some(meta) = code_metadata(parsed) else {
        return false;
    };
    let length = significant(parsed).len();
    let general = meta.descriptors().general();
    let fits = |lengths: &[u16]| lengths.iter().any(|&l| usize::from(l) == length);
    if general.possible_length().is_empty() {
        return (2..=17).contains(&length);
    }
    fits(general.possible_length()) || fits(general.possible_local_length())
}

fn original_format(
    parsed: &PhoneNumber,
    specified: &str,
    source: CountryCodeSource,
    international: &str,
    national: &str,
) -> String {
    match source {
        CountryCodeSource::FromNumberWithPlusSign | CountryCodeSource::FromNumberWithIdd => {
            international.to_owned()
        }
        CountryCodeSource::FromNumberWithoutPlusSign => {
            international.trim_start_matches('+').to_owned()
        }
        CountryCodeSource::FromDefaultCountry => {
            let prefix = region_metadata(parsed)
                .or_else(|| code_metadata(parsed))
                .and_then(Metadata::national_prefix);
            let digits: String = specified.chars().filter(char::is_ascii_digit).collect();
            match prefix {
                Some(prefix)
                    if !prefix.is_empty()
                        && !digits.starts_with(prefix)
                        && national.starts_with(prefix) =>
                {
                    national[prefix.len()..].trim_start().to_owned()
                }
                _ => national.to_owned(),
            }
        }
    }
}

/// `(English country name, time zone or "")` for an ISO 3166 code.
fn region_facts(code: &str) -> Option<(&'static str, &'static str)> {
    REGIONS.lines().find_map(|line| {
        let mut fields = line.split('|');
        (fields.next()? == code).then_some(())?;
        Some((fields.next()?, fields.next()?))
    })
}

/// `code|English name|IANA zone` per region; the zone is empty where the country spans
/// several UTC offsets. Generated from Debian's iso-codes (`iso_3166-1.json`, common names)
/// and tzdata's `zone.tab`, plus libphonenumber's AC, TA and XK.
const REGIONS: &str = "\
AC|Ascension Island|Atlantic/St_Helena
AD|Andorra|Europe/Andorra
AE|United Arab Emirates|Asia/Dubai
AF|Afghanistan|Asia/Kabul
AG|Antigua and Barbuda|America/Antigua
AI|Anguilla|America/Anguilla
AL|Albania|Europe/Tirane
AM|Armenia|Asia/Yerevan
AO|Angola|Africa/Luanda
AQ|Antarctica|
AR|Argentina|America/Argentina/Buenos_Aires
AS|American Samoa|Pacific/Pago_Pago
AT|Austria|Europe/Vienna
AU|Australia|
AW|Aruba|America/Aruba
AX|Åland Islands|Europe/Mariehamn
AZ|Azerbaijan|Asia/Baku
BA|Bosnia and Herzegovina|Europe/Sarajevo
BB|Barbados|America/Barbados
BD|Bangladesh|Asia/Dhaka
BE|Belgium|Europe/Brussels
BF|Burkina Faso|Africa/Ouagadougou
BG|Bulgaria|Europe/Sofia
BH|Bahrain|Asia/Bahrain
BI|Burundi|Africa/Bujumbura
BJ|Benin|Africa/Porto-Novo
BL|Saint Barthélemy|America/St_Barthelemy
BM|Bermuda|Atlantic/Bermuda
BN|Brunei Darussalam|Asia/Brunei
BO|Bolivia|America/La_Paz
BQ|Bonaire, Sint Eustatius and Saba|America/Kralendijk
BR|Brazil|
BS|Bahamas|America/Nassau
BT|Bhutan|Asia/Thimphu
BV|Bouvet Island|
BW|Botswana|Africa/Gaborone
BY|Belarus|Europe/Minsk
BZ|Belize|America/Belize
CA|Canada|
CC|Cocos (Keeling) Islands|Indian/Cocos
CD|Congo, The Democratic Republic of the|
CF|Central African Republic|Africa/Bangui
CG|Congo|Africa/Brazzaville
CH|Switzerland|Europe/Zurich
CI|Côte d'Ivoire|Africa/Abidjan
CK|Cook Islands|Pacific/Rarotonga
CL|Chile|
CM|Cameroon|Africa/Douala
CN|China|Asia/Shanghai
CO|Colombia|America/Bogota
CR|Costa Rica|America/Costa_Rica
CU|Cuba|America/Havana
CV|Cabo Verde|Atlantic/Cape_Verde
CW|Curaçao|America/Curacao
CX|Christmas Island|Indian/Christmas
CY|Cyprus|Asia/Nicosia
CZ|Czechia|Europe/Prague
DE|Germany|Europe/Berlin
DJ|Djibouti|Africa/Djibouti
DK|Denmark|Europe/Copenhagen
DM|Dominica|America/Dominica
DO|Dominican Republic|America/Santo_Domingo
DZ|Algeria|Africa/Algiers
EC|Ecuador|
EE|Estonia|Europe/Tallinn
EG|Egypt|Africa/Cairo
EH|Western Sahara|Africa/El_Aaiun
ER|Eritrea|Africa/Asmara
ES|Spain|
ET|Ethiopia|Africa/Addis_Ababa
FI|Finland|Europe/Helsinki
FJ|Fiji|Pacific/Fiji
FK|Falkland Islands (Malvinas)|Atlantic/Stanley
FM|Micronesia, Federated States of|
FO|Faroe Islands|Atlantic/Faroe
FR|France|Europe/Paris
GA|Gabon|Africa/Libreville
GB|United Kingdom|Europe/London
GD|Grenada|America/Grenada
GE|Georgia|Asia/Tbilisi
GF|French Guiana|America/Cayenne
GG|Guernsey|Europe/Guernsey
GH|Ghana|Africa/Accra
GI|Gibraltar|Europe/Gibraltar
GL|Greenland|
GM|Gambia|Africa/Banjul
GN|Guinea|Africa/Conakry
GP|Guadeloupe|America/Guadeloupe
GQ|Equatorial Guinea|Africa/Malabo
GR|Greece|Europe/Athens
GS|South Georgia and the South Sandwich Islands|Atlantic/South_Georgia
GT|Guatemala|America/Guatemala
GU|Guam|Pacific/Guam
GW|Guinea-Bissau|Africa/Bissau
GY|Guyana|America/Guyana
HK|Hong Kong|Asia/Hong_Kong
HM|Heard Island and McDonald Islands|
HN|Honduras|America/Tegucigalpa
HR|Croatia|Europe/Zagreb
HT|Haiti|America/Port-au-Prince
HU|Hungary|Europe/Budapest
ID|Indonesia|
IE|Ireland|Europe/Dublin
IL|Israel|Asia/Jerusalem
IM|Isle of Man|Europe/Isle_of_Man
IN|India|Asia/Kolkata
IO|British Indian Ocean Territory|Indian/Chagos
IQ|Iraq|Asia/Baghdad
IR|Iran|Asia/Tehran
IS|Iceland|Atlantic/Reykjavik
IT|Italy|Europe/Rome
JE|Jersey|Europe/Jersey
JM|Jamaica|America/Jamaica
JO|Jordan|Asia/Amman
JP|Japan|Asia/Tokyo
KE|Kenya|Africa/Nairobi
KG|Kyrgyzstan|Asia/Bishkek
KH|Cambodia|Asia/Phnom_Penh
KI|Kiribati|
KM|Comoros|Indian/Comoro
KN|Saint Kitts and Nevis|America/St_Kitts
KP|North Korea|Asia/Pyongyang
KR|South Korea|Asia/Seoul
KW|Kuwait|Asia/Kuwait
KY|Cayman Islands|America/Cayman
KZ|Kazakhstan|Asia/Almaty
LA|Laos|Asia/Vientiane
LB|Lebanon|Asia/Beirut
LC|Saint Lucia|America/St_Lucia
LI|Liechtenstein|Europe/Vaduz
LK|Sri Lanka|Asia/Colombo
LR|Liberia|Africa/Monrovia
LS|Lesotho|Africa/Maseru
LT|Lithuania|Europe/Vilnius
LU|Luxembourg|Europe/Luxembourg
LV|Latvia|Europe/Riga
LY|Libya|Africa/Tripoli
MA|Morocco|Africa/Casablanca
MC|Monaco|Europe/Monaco
MD|Moldova|Europe/Chisinau
ME|Montenegro|Europe/Podgorica
MF|Saint Martin (French part)|America/Marigot
MG|Madagascar|Indian/Antananarivo
MH|Marshall Islands|Pacific/Majuro
MK|North Macedonia|Europe/Skopje
ML|Mali|Africa/Bamako
MM|Myanmar|Asia/Yangon
MN|Mongolia|
MO|Macao|Asia/Macau
MP|Northern Mariana Islands|Pacific/Saipan
MQ|Martinique|America/Martinique
MR|Mauritania|Africa/Nouakchott
MS|Montserrat|America/Montserrat
MT|Malta|Europe/Malta
MU|Mauritius|Indian/Mauritius
MV|Maldives|Indian/Maldives
MW|Malawi|Africa/Blantyre
MX|Mexico|
MY|Malaysia|Asia/Kuala_Lumpur
MZ|Mozambique|Africa/Maputo
NA|Namibia|Africa/Windhoek
NC|New Caledonia|Pacific/Noumea
NE|Niger|Africa/Niamey
NF|Norfolk Island|Pacific/Norfolk
NG|Nigeria|Africa/Lagos
NI|Nicaragua|America/Managua
NL|Netherlands|Europe/Amsterdam
NO|Norway|Europe/Oslo
NP|Nepal|Asia/Kathmandu
NR|Nauru|Pacific/Nauru
NU|Niue|Pacific/Niue
NZ|New Zealand|
OM|Oman|Asia/Muscat
PA|Panama|America/Panama
PE|Peru|America/Lima
PF|French Polynesia|
PG|Papua New Guinea|
PH|Philippines|Asia/Manila
PK|Pakistan|Asia/Karachi
PL|Poland|Europe/Warsaw
PM|Saint Pierre and Miquelon|America/Miquelon
PN|Pitcairn|Pacific/Pitcairn
PR|Puerto Rico|America/Puerto_Rico
PS|Palestine, State of|Asia/Gaza
PT|Portugal|
PW|Palau|Pacific/Palau
PY|Paraguay|America/Asuncion
QA|Qatar|Asia/Qatar
RE|Réunion|Indian/Reunion
RO|Romania|Europe/Bucharest
RS|Serbia|Europe/Belgrade
RU|Russian Federation|
RW|Rwanda|Africa/Kigali
SA|Saudi Arabia|Asia/Riyadh
SB|Solomon Islands|Pacific/Guadalcanal
SC|Seychelles|Indian/Mahe
SD|Sudan|Africa/Khartoum
SE|Sweden|Europe/Stockholm
SG|Singapore|Asia/Singapore
SH|Saint Helena, Ascension and Tristan da Cunha|Atlantic/St_Helena
SI|Slovenia|Europe/Ljubljana
SJ|Svalbard and Jan Mayen|Arctic/Longyearbyen
SK|Slovakia|Europe/Bratislava
SL|Sierra Leone|Africa/Freetown
SM|San Marino|Europe/San_Marino
SN|Senegal|Africa/Dakar
SO|Somalia|Africa/Mogadishu
SR|Suriname|America/Paramaribo
SS|South Sudan|Africa/Juba
ST|Sao Tome and Principe|Africa/Sao_Tome
SV|El Salvador|America/El_Salvador
SX|Sint Maarten (Dutch part)|America/Lower_Princes
SY|Syria|Asia/Damascus
SZ|Eswatini|Africa/Mbabane
TA|Tristan da Cunha|Atlantic/St_Helena
TC|Turks and Caicos Islands|America/Grand_Turk
TD|Chad|Africa/Ndjamena
TF|French Southern Territories|Indian/Kerguelen
TG|Togo|Africa/Lome
TH|Thailand|Asia/Bangkok
TJ|Tajikistan|Asia/Dushanbe
TK|Tokelau|Pacific/Fakaofo
TL|Timor-Leste|Asia/Dili
TM|Turkmenistan|Asia/Ashgabat
TN|Tunisia|Africa/Tunis
TO|Tonga|Pacific/Tongatapu
TR|Türkiye|Europe/Istanbul
TT|Trinidad and Tobago|America/Port_of_Spain
TV|Tuvalu|Pacific/Funafuti
TW|Taiwan|Asia/Taipei
TZ|Tanzania|Africa/Dar_es_Salaam
UA|Ukraine|Europe/Kyiv
UG|Uganda|Africa/Kampala
UM|United States Minor Outlying Islands|
US|United States|
UY|Uruguay|America/Montevideo
UZ|Uzbekistan|Asia/Samarkand
VA|Holy See (Vatican City State)|Europe/Vatican
VC|Saint Vincent and the Grenadines|America/St_Vincent
VE|Venezuela|America/Caracas
VG|Virgin Islands, British|America/Tortola
VI|Virgin Islands, U.S.|America/St_Thomas
VN|Vietnam|Asia/Ho_Chi_Minh
VU|Vanuatu|Pacific/Efate
WF|Wallis and Futuna|Pacific/Wallis
WS|Samoa|Pacific/Apia
XK|Kosovo|Europe/Belgrade
YE|Yemen|Asia/Aden
YT|Mayotte|Indian/Mayotte
ZA|South Africa|Africa/Johannesburg
ZM|Zambia|Africa/Lusaka
ZW|Zimbabwe|Africa/Harare
";
