//! Reading an uploaded template archive (`callback.zip` and the like) without trusting it: the
//! archive, its entry count and every entry are size-limited, sizes are enforced while reading
//! (a header may lie), and an entry whose path could escape the template folder rejects the
//! whole upload.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};

use super::TemplateError;

/// Largest accepted archive, in bytes.
pub const MAX_ARCHIVE_BYTES: usize = 5 * 1024 * 1024;
/// Largest accepted number of entries (files and folders) in an archive.
pub const MAX_ENTRIES: usize = 200;
/// Largest accepted uncompressed entry, in bytes.
pub const MAX_ENTRY_BYTES: u64 = 2 * 1024 * 1024;

/// The file that describes a template, at the archive root or in its single top folder.
pub const TEMPLATE_JSON: &str = "template.json";

/// What an archive holds once its top folder (if any) is stripped.
pub(crate) struct Unpacked {
    pub template_json: Vec<u8>,
    /// Every other file, by path relative to the template folder.
    pub files: BTreeMap<String, Vec<u8>>,
}

pub(crate) fn unpack(bytes: &[u8]) -> Result<Unpacked, TemplateError> {
    if bytes.len() > MAX_ARCHIVE_BYTES {
        return Err(TemplateError::ArchiveTooLarge {
            size: bytes.len(),
            limit: MAX_ARCHIVE_BYTES,
        });
    }
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| TemplateError::BadArchive(e.to_string()))?;
    if archive.len() > MAX_ENTRIES {
        return Err(TemplateError::TooManyEntries {
            count: archive.len(),
            limit: MAX_ENTRIES,
        });
    }

    let mut raw: Vec<(String, Vec<u8>)> = Vec::new();
    for index in 0..archive.len() {
        let mut entry = archive
            .by_index(index)
            .map_err(|e| TemplateError::BadArchive(e.to_string()))?;
        let name = entry.name().to_owned();
        let path = safe_path(&name).ok_or_else(|| TemplateError::UnsafePath(name.clone()))?;
        if entry.is_dir() || path.is_empty() || is_metadata(&path) {
            continue;
        }
        if entry.size() > MAX_ENTRY_BYTES {
            return Err(TemplateError::EntryTooLarge {
                name,
                limit: MAX_ENTRY_BYTES,
            });
        }
        // Read one byte past the limit so that an entry whose header understates its size is
        // still caught.
        let mut data = Vec::new();
        (&mut entry)
            .take(MAX_ENTRY_BYTES + 1)
            .read_to_end(&mut data)
            .map_err(|e| TemplateError::BadArchive(format!("cannot read '{name}': {e}")))?;
        if data.len() as u64 > MAX_ENTRY_BYTES {
            return Err(TemplateError::EntryTooLarge {
                name,
                limit: MAX_ENTRY_BYTES,
            });
        }
        raw.push((path, data));
    }

    let prefix = template_folder(&raw)?;
    let mut template_json = None;
    let mut files = BTreeMap::new();
    for (path, data) in raw {
        let Some(relative) = path.strip_prefix(&prefix) else {
            continue;
        };
        if relative == TEMPLATE_JSON {
            template_json = Some(data);
        } else {
            files.insert(relative.to_owned(), data);
        }
    }
    let template_json = template_json.ok_or(TemplateError::MissingTemplateJson)?;
    Ok(Unpacked {
        template_json,
        files,
    })
}

/// The entry path normalised to `/`-separated components, or `None` when it is absolute or has
/// a `..` component (the classic "zip slip").
fn safe_path(name: &str) -> Option<String> {
    let name = name.replace('\\', "/");
    if name.starts_with('/') || name.contains(':') {
        return None;
    }
    let mut parts = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

/// Folders that archivers add on their own and that are never part of a template.
fn is_metadata(path: &str) -> bool {
    path.starts_with("__MACOSX/") || path.ends_with(".DS_Store")
}

/// `""` when `template.json` sits at the root, `"folder/"` when every file lives in one top
/// folder that holds it.
fn template_folder(files: &[(String, Vec<u8>)]) -> Result<String, TemplateError> {
    if files.iter().any(|(path, _)| path == TEMPLATE_JSON) {
        return Ok(String::new());
    }
    let mut tops = files
        .iter()
        .map(|(path, _)| path.split_once('/').map(|(top, _)| top));
    let Some(Some(top)) = tops.next() else {
        return Err(TemplateError::MissingTemplateJson);
    };
    if !tops.all(|other| other == Some(top)) {
        return Err(TemplateError::MissingTemplateJson);
    }
    let prefix = format!("{top}/");
    let json = format!("{prefix}{TEMPLATE_JSON}");
    if files.iter().any(|(path, _)| *path == json) {
        Ok(prefix)
    } else {
        Err(TemplateError::MissingTemplateJson)
    }
}
