"""The answer lists of the Questionnaire: codes the policy reads, so an answer is read exactly as asked.

Outcomes are the SNOMED CT codes of spec §2; smoking status is LOINC answer list LL2201-3 for 72166-2 (its
SNOMED CT codes, the current-smoker ones those of spec §4); diagnoses and procedures are ICD-10-CM and CPT
codes of the policy's value sets (plus two acute-pain codes, which the policy excludes, so that "not a
qualifying diagnosis" can be answered too).
"""

from __future__ import annotations

__all__ = [
    "CPT",
    "DIAGNOSIS_CHOICES",
    "ICD10",
    "INTERVENTION_CHOICES",
    "LOINC",
    "MEDICATION_SLOTS",
    "OUTCOME_CHOICES",
    "PSYCH_CPT",
    "PT_CPT",
    "RXNORM",
    "SMOKING_CHOICES",
    "SNOMED",
    "STOP_CHOICES",
]

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
CPT = "http://www.ama-assn.org/go/cpt"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"

# The treatment outcome the issue asks for, as the SNOMED CT codes the policy reads (spec §2).
OUTCOME_CHOICES: tuple[tuple[str, str, str], ...] = (
    (SNOMED, "385671000", "Failed (unsuccessful)"),
    (SNOMED, "385670004", "Partially successful"),
    (SNOMED, "385669000", "Successful"),
    ("urn:drg-eligibility:answer", "not-known", "Not known"),
)
STOP_CHOICES: tuple[tuple[str, str, str], ...] = (
    ("urn:drg-eligibility:answer", "ineffective", "Stopped: it did not help"),
    ("urn:drg-eligibility:answer", "adverse-effect", "Stopped: side effects"),
    ("urn:drg-eligibility:answer", "still-taking", "Still taking it"),
)
# LOINC answer list LL2201-3 for 72166-2 (tobacco smoking status), as the SNOMED CT codes it holds.
SMOKING_CHOICES: tuple[tuple[str, str, str], ...] = (
    (SNOMED, "449868002", "Current every day smoker"),
    (SNOMED, "428041000124106", "Current some day smoker"),
    (SNOMED, "8517006", "Former smoker"),
    (SNOMED, "266919005", "Never smoker"),
    (SNOMED, "77176002", "Smoker, current status unknown"),
    (SNOMED, "266927001", "Unknown if ever smoked"),
    (SNOMED, "428071000124103", "Current heavy tobacco smoker"),
    (SNOMED, "428061000124105", "Current light tobacco smoker"),
)
DIAGNOSIS_CHOICES: tuple[tuple[str, str, str], ...] = (
    (ICD10, "G90.521", "Complex regional pain syndrome I of right lower limb"),
    (ICD10, "G90.522", "Complex regional pain syndrome I of left lower limb"),
    (ICD10, "G90.511", "Complex regional pain syndrome I of right upper limb"),
    (ICD10, "G90.512", "Complex regional pain syndrome I of left upper limb"),
    (ICD10, "G57.71", "Causalgia of right lower limb"),
    (ICD10, "G57.72", "Causalgia of left lower limb"),
    (ICD10, "G89.28", "Other chronic postprocedural pain"),
    (ICD10, "G89.29", "Other chronic pain"),
    (ICD10, "B02.29", "Other postherpetic nervous system involvement"),
    (ICD10, "E11.42", "Type 2 diabetes mellitus with diabetic polyneuropathy"),
    (ICD10, "G89.11", "Acute pain due to trauma"),
    (ICD10, "G89.18", "Other acute postprocedural pain"),
)
INTERVENTION_CHOICES: tuple[tuple[str, str, str], ...] = (
    (CPT, "62323", "Lumbar/sacral epidural steroid injection"),
    (CPT, "64483", "Transforaminal epidural injection, lumbar/sacral"),
    (CPT, "64450", "Peripheral nerve block"),
    (CPT, "64520", "Lumbar sympathetic block"),
)
PSYCH_CPT = "90791"
PT_CPT = "97110"
MEDICATION_SLOTS = 3  # blank medication rows a form offers when the record holds none
