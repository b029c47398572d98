//! Just enough DER to read an X.509 certificate's issuer and subject (for reporting), and to
//! write them as OpenSSL's one-line form does (`CN=localhost, O=Acme`).

/// Splits one DER element off `input`: its tag, its contents and what follows it.
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let len = rest[..count]
            .iter()
            .fold(0usize, |len, &b| (len << 8) | usize::from(b));
        (len, &rest[count..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

const SEQUENCE: u8 = 0x30;
const VERSION: u8 = 0xa0;

/// The fields of a certificate's TBSCertificate from the issuer on: issuer, validity, subject.
fn issuer_validity_subject(cert: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let fields = tbs_fields(cert)?;
    Some((fields.issuer, fields.validity, fields.subject))
}

/// Parts of a TBSCertificate (contents, without their headers).
struct TbsFields<'a> {
    issuer: &'a [u8],
    validity: &'a [u8],
    subject: &'a [u8],
    /// Everything after the subject, headers included: the public key, then extensions.
    rest: &'a [u8],
}

fn tbs_fields(cert: &[u8]) -> Option<TbsFields<'_>> {
    let (SEQUENCE, cert, _) = element(cert)? else {
        return None;
    };
    let (SEQUENCE, tbs, _) = element(cert)? else {
        return None;
    };
    let mut rest = tbs;
    if rest.first() == Some(&VERSION) {
        rest = element(rest)?.2;
    }
    let rest = element(rest)?.2; // serial number
    let rest = element(rest)?.2; // signature algorithm
    let (_, issuer, rest) = element(rest)?;
    let (_, validity, rest) = element(rest)?;
    let (_, subject, rest) = element(rest)?;
    Some(TbsFields {
        issuer,
        validity,
        subject,
        rest,
    })
}

/// The certificate's subjectPublicKeyInfo, whole (tag and length included).
pub fn subject_public_key_info(cert: &[u8]) -> Option<&[u8]> {
    let rest = tbs_fields(cert)?.rest;
    let (_, _, after) = element(rest)?;
    Some(&rest[..rest.len() - after.len()])
}

const EXTENSIONS: u8 = 0xa3;
const SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];
const COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];

/// Whether the certificate has a subjectAltName extension.
pub fn has_subject_alt_name(cert: &[u8]) -> bool {
    let Some(mut rest) = tbs_fields(cert).map(|f| f.rest) else {
        return false;
    };
    // subjectPublicKeyInfo, then the optional unique IDs [1] and [2], then [3] extensions.
    while let Some((tag, contents, next)) = element(rest) {
        rest = next;
        if tag != EXTENSIONS {
            continue;
        }
        let Some((SEQUENCE, mut list, _)) = element(contents) else {
            return false;
        };
        while let Some((_, extension, next)) = element(list) {
            list = next;
            if let Some((OID, oid, _)) = element(extension)
                && oid == SUBJECT_ALT_NAME
            {
                return true;
            }
        }
    }
    false
}

/// The subject's common names (`CN=`), in order.
pub fn common_names(cert: &[u8]) -> Vec<String> {
    issuer_and_subject(cert)
        .and_then(|(_, subject)| attributes(subject))
        .unwrap_or_default()
        .into_iter()
        .filter(|(oid, _)| *oid == COMMON_NAME)
        .map(|(_, value)| value)
        .collect()
}

/// The raw issuer and subject names of a certificate.
fn issuer_and_subject(cert: &[u8]) -> Option<(&[u8], &[u8])> {
    let (issuer, _, subject) = issuer_validity_subject(cert)?;
    Some((issuer, subject))
}

/// A certificate's validity period (notBefore, notAfter) in seconds since the Unix epoch.
pub fn validity(cert: &[u8]) -> Option<(i64, i64)> {
    let (_, validity, _) = issuer_validity_subject(cert)?;
    let (tag, not_before, rest) = element(validity)?;
    let not_before = time(tag, not_before)?;
    let (tag, not_after, _) = element(rest)?;
    Some((not_before, time(tag, not_after)?))
}

const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// An X.509 time (`YYMMDDHHMMSSZ` or `YYYYMMDDHHMMSSZ`) in seconds since the Unix epoch.
fn time(tag: u8, text: &[u8]) -> Option<i64> {
    let digits = text.strip_suffix(b"Z")?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        std::str::from_utf8(digits.get(range)?).ok()?.parse().ok()
    };
    let (year, rest) = match (tag, digits.len()) {
        (UTC_TIME, 12) => {
            let yy = number(0..2)?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, 2)
        }
        (GENERALIZED_TIME, 14) => (number(0..4)?, 4),
        _ => return None,
    };
    let field = |i: usize| number(rest + 2 * i..rest + 2 * i + 2);
    let (month, day) = (field(0)?, field(1)?);
    let (hour, minute, second) = (field(2)?, field(3)?, field(4)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Whether a certificate names itself as its issuer (self-signed, in OpenSSL's words).
pub fn is_self_issued(cert: &[u8]) -> bool {
    issuer_and_subject(cert).is_some_and(|(issuer, subject)| issuer == subject)
}

/// The subject and issuer as text (`CN=localhost, O=Acme`), in the certificate's order.
pub fn subject_and_issuer_text(cert: &[u8]) -> Option<(String, String)> {
    let (issuer, subject) = issuer_and_subject(cert)?;
    Some((name_text(subject)?, name_text(issuer)?))
}

/// The subject's organization (`O=`), which Ncat prints after `SSL connection to ...`.
pub fn subject_organization(cert: &[u8]) -> Option<String> {
    let (_, subject) = issuer_and_subject(cert)?;
    attributes(subject)?
        .into_iter()
        .find(|(oid, _)| *oid == [0x55, 0x04, 0x0a])
        .map(|(_, value)| value)
}

/// A distinguished name's attributes in order: (OID bytes, value as text).
fn attributes(mut name: &[u8]) -> Option<Vec<(&[u8], String)>> {
    let mut found = Vec::new();
    while !name.is_empty() {
        let (_, mut set, rest) = element(name)?;
        name = rest;
        while !set.is_empty() {
            let (SEQUENCE, pair, rest) = element(set)? else {
                return None;
            };
            set = rest;
            let (OID, oid, rest) = element(pair)? else {
                return None;
            };
            let (tag, value, _) = element(rest)?;
            found.push((oid, string_value(tag, value)));
        }
    }
    Some(found)
}

const OID: u8 = 0x06;
const BMP_STRING: u8 = 0x1e;

fn name_text(name: &[u8]) -> Option<String> {
    let parts: Vec<String> = attributes(name)?
        .into_iter()
        .map(|(oid, value)| format!("{}={value}", attribute_name(oid)))
        .collect();
    Some(parts.join(", "))
}

/// A directory string as text: BMPString is UTF-16, the others are read as UTF-8.
fn string_value(tag: u8, value: &[u8]) -> String {
    if tag == BMP_STRING {
        let units: Vec<u16> = value
            .chunks_exact(2)
            .map(|p| u16::from_be_bytes([p[0], p[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    } else {
        String::from_utf8_lossy(value).into_owned()
    }
}

/// OpenSSL's short name for an attribute type, or its dotted number.
fn attribute_name(oid: &[u8]) -> String {
    let known: &[(&[u8], &str)] = &[
        (&[0x55, 0x04, 0x03], "CN"),
        (&[0x55, 0x04, 0x05], "serialNumber"),
        (&[0x55, 0x04, 0x06], "C"),
        (&[0x55, 0x04, 0x07], "L"),
        (&[0x55, 0x04, 0x08], "ST"),
        (&[0x55, 0x04, 0x09], "street"),
        (&[0x55, 0x04, 0x0a], "O"),
        (&[0x55, 0x04, 0x0b], "OU"),
        (&[0x55, 0x04, 0x0c], "title"),
        (
            &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01],
            "emailAddress",
        ),
        (
            &[0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19],
            "DC",
        ),
    ];
    match known.iter().find(|(bytes, _)| *bytes == oid) {
        Some((_, name)) => (*name).to_string(),
        None => dotted(oid),
    }
}

/// An OID's dotted form (`1.2.3.4`).
fn dotted(oid: &[u8]) -> String {
    let mut arcs = Vec::new();
    let mut value: u64 = 0;
    for &b in oid {
        value = (value << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (value / 40).min(2);
                arcs.push(first);
                arcs.push(value - first * 40);
            } else {
                arcs.push(value);
            }
            value = 0;
        }
    }
    arcs.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_read_like_openssl_one_line_form() {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "localhost");
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "Acme");
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let cert = params.self_signed(&key).unwrap();
        let (subject, issuer) = subject_and_issuer_text(cert.der()).unwrap();
        assert_eq!(subject, "CN=localhost, O=Acme");
        assert_eq!(issuer, subject);
        assert_eq!(subject_organization(cert.der()).as_deref(), Some("Acme"));
        assert_eq!(
            dotted(&[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37]),
            "1.3.6.1.4.1.311"
        );
        let (not_before, not_after) = validity(cert.der()).unwrap();
        assert!(not_before < not_after);
        assert!(has_subject_alt_name(cert.der()));
        assert_eq!(common_names(cert.der()), ["localhost"]);
        let mut bare = rcgen::CertificateParams::default();
        bare.distinguished_name
            .push(rcgen::DnType::CommonName, "only.cn");
        let bare = bare.self_signed(&key).unwrap();
        assert!(!has_subject_alt_name(bare.der()));
    }

    #[test]
    fn times_in_both_forms() {
        assert_eq!(time(UTC_TIME, b"700101000000Z"), Some(0));
        assert_eq!(time(UTC_TIME, b"491231235959Z"), Some(2_524_607_999));
        assert_eq!(
            time(GENERALIZED_TIME, b"20261201120000Z"),
            Some(1_796_126_400)
        );
        assert_eq!(time(UTC_TIME, b"7001010000Z"), None);
        assert_eq!(time(GENERALIZED_TIME, b"2026120112000Z"), None);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = is_self_issued(&bytes);
            let _ = subject_and_issuer_text(&bytes);
            let _ = subject_organization(&bytes);
            let _ = validity(&bytes);
            let _ = has_subject_alt_name(&bytes);
            let _ = common_names(&bytes);
            let _ = subject_public_key_info(&bytes);
        }
    }
}
