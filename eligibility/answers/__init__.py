"""Closing the loop with the referrer: a decision's open questions as an SDC Questionnaire, the answers
(QuestionnaireResponse) checked against it, extracted into the FHIR resources the policy reads, and a new
decision that supersedes the old one.

    questionnaire  the Questionnaire built from a decision's data requests (one group per request)
    choices        its answer lists: the codes the policy reads (outcomes, smoking status, diagnoses, procedures)
    responses      checking a QuestionnaireResponse against that Questionnaire; problems name the item
    extraction     answers -> Observation / Procedure / Condition / MedicationStatement, each derivedFrom the QR
    redecide       old input + QR + extracted resources -> the input of the superseding decision
    attribution    "reported by dr.rivera on 2026-12-04 (questionnaire)" on evidence drawn from answers
    form           the web form's fields <-> a QuestionnaireResponse (the same checks as the API)
    flow           load a decision and its questions, check answers, build the new input
    chain          where a decision stands: what it supersedes (and what changed), or its successor

    q = build_questionnaire(decision, canonical, policy=policy, base_url=base)
    answers = check_response(q, response, decision=decision)       # raises AnswerError naming the item
    combined = combined_input(decision, canonical, answers, answered_by="dr.rivera")

The engine is untouched: extracted resources enter the stored input and are read like any record.
"""
