"""The first version of each procedure's consent form (the clinic edits them in the application;
every edit adds a version, these rows never change)."""

from django.db import migrations

# The first version of each procedure's form. The clinic edits them in the application; every
# edit is a new version and these rows are never changed.
FORMS = {
    "botulinum_toxin": {
        "title": "Consent to botulinum toxin injections for facial palsy and synkinesis",
        "description": (
            "Botulinum toxin is a purified protein that blocks the signal from a nerve to a muscle "
            "for a few months. Small doses are injected with a fine needle into chosen facial muscles: "
            "on the affected side to relax muscles that tighten or move when they should not "
            "(synkinesis), such as around the eye, the chin (mentalis), the corner of the mouth "
            "(depressor anguli oris) and the neck (platysma), and sometimes on the other side to "
            "balance the face. The product, the dose and the muscles are recorded at every session. "
            "Different products (for example Botox, Dysport, Xeomin) are not interchangeable and "
            "their units differ."
        ),
        "benefits": (
            "Less unwanted movement and tightness: for example less eye narrowing when smiling or "
            "eating, a freer smile, less chin dimpling and neck tightness, and less discomfort. "
            "Relaxing the stronger side can make the face look more even. Treatment is often "
            "combined with facial retraining therapy, which works best in the weeks after an "
            "injection."
        ),
        "risks": (
            "Common and usually mild: bruising, swelling, tenderness or a small bleed where the "
            "needle went in; a headache for a day or two.\n"
            "Too much or unwanted weakness, which wears off as the effect fades: a drooping upper "
            "eyelid (ptosis) or brow, difficulty closing the eye or a dry or watery eye, a weaker or "
            "lopsided smile, difficulty keeping liquids in the mouth or pronouncing some sounds, "
            "difficulty whistling or drinking through a straw.\n"
            "Uncommon: an allergic reaction; flu-like symptoms; rarely, spread of the effect beyond "
            "the injected area causing swallowing or breathing difficulty (seek urgent help).\n"
            "With frequent or high doses the body can make antibodies that stop the toxin working; "
            "for this reason sessions are normally at least 12 weeks apart.\n"
            "Botulinum toxin is not given in pregnancy or breastfeeding, or with some nerve and "
            "muscle conditions (for example myasthenia gravis); tell us about these and about any "
            "medicines, especially blood thinners and some antibiotics."
        ),
        "alternatives": (
            "No treatment; facial retraining therapy (neuromuscular retraining) alone; other "
            "products or doses; surgery such as selective myectomy or selective neurolysis for "
            "synkinesis that does not respond well enough."
        ),
        "what_to_expect": (
            "The injections take a few minutes. The effect starts within a few days, is best "
            "after one to three weeks and fades after three to four months. We ask you about the "
            "effect and any side effects at your next visit, and may send you a short questionnaire "
            "before and about two weeks after each session. Avoid rubbing or massaging the treated "
            "areas on the day. This consent covers a course of sessions and is renewed at least "
            "every year, or sooner if the plan changes. You may stop treatment at any time."
        ),
    },
    "dao_excision": {
        "title": "Consent to depressor anguli oris (DAO) excision under local anaesthetic",
        "description": (
            "The depressor anguli oris is the muscle that pulls the corner of the mouth down. In "
            "synkinesis it often works against the smile. In this operation part of the muscle is "
            "removed through a small cut inside the lower lip or in the skin below the corner of "
            "the mouth, under local anaesthetic (you are awake; the area is numbed). A test "
            "injection of local anaesthetic or botulinum toxin may have been used beforehand to "
            "show the likely result."
        ),
        "benefits": (
            "A smile that is less pulled down on the affected side, with a more even lower lip and "
            "mouth corner, and usually a lasting effect without repeated injections."
        ),
        "risks": (
            "Bleeding, bruising and swelling; infection; pain or tenderness for a few days.\n"
            "A scar (usually hidden inside the lip or in a natural crease); a dent or "
            "irregularity of the skin.\n"
            "Numbness or tingling of the lower lip or chin, usually temporary.\n"
            "Weakness of the lower lip (depressor labii inferioris) if nearby muscle or nerve is "
            "affected, making the lower teeth show less; changes in speech or in keeping food and "
            "drink in the mouth, usually temporary.\n"
            "The result may be less than hoped for or uneven, and a further procedure or injections "
            "may be needed. Rarely, reaction to the local anaesthetic."
        ),
        "alternatives": (
            "Botulinum toxin injections into the DAO, repeated every few months; facial "
            "retraining therapy; selective neurolysis; no treatment."
        ),
        "what_to_expect": (
            "The operation takes about 30 to 60 minutes and you go home the same day. Dissolving "
            "stitches are usual. Expect swelling and bruising for one to two weeks; keep the wound "
            "clean, rinse after eating if the cut is inside the mouth, and avoid strenuous activity "
            "for a few days. The final result is judged after about three months. We see you after "
            "about one week, six weeks and three months."
        ),
    },
    "selective_myectomy": {
        "title": "Consent to selective myectomy",
        "description": (
            "A selective myectomy removes part of a muscle that causes unwanted movement or "
            "tightness, for example part of the orbicularis oculi (around the eye), the mentalis "
            "(chin) or the platysma (neck). The muscle and the side are written on this form. It is "
            "done through a small cut placed in a natural crease, under local or general "
            "anaesthetic as agreed with you."
        ),
        "benefits": (
            "Less unwanted movement and tightness in the treated area, a more balanced face, and "
            "less need for botulinum toxin in that muscle."
        ),
        "risks": (
            "Bleeding, bruising, swelling, infection and pain.\n"
            "A visible scar or a contour irregularity.\n"
            "Too much weakness of the treated area: near the eye this can affect eye closure and "
            "protection of the eye (dryness, irritation); near the mouth, lip movement, speech or "
            "eating.\n"
            "Numbness, usually temporary.\n"
            "The movement may partly return, or the effect may be less than hoped; further "
            "treatment may be needed. Risks of anaesthesia, discussed separately if a general "
            "anaesthetic is planned."
        ),
        "alternatives": (
            "Botulinum toxin injections; facial retraining therapy; selective neurolysis; no "
            "treatment."
        ),
        "what_to_expect": (
            "Usually a day case. Swelling and bruising settle over two to three weeks; the final "
            "result is judged at about three months. Wound care and follow-up visits (about one "
            "week, six weeks and three months) are explained on the day."
        ),
    },
    "selective_neurolysis": {
        "title": "Consent to selective neurolysis (modified selective neurectomy)",
        "description": (
            "In synkinesis some branches of the facial nerve send signals to the wrong muscles. In "
            "this operation, under general anaesthetic, the branches of the facial nerve in the "
            "cheek are found through a cut in front of the ear or in a face-lift crease, and each "
            "is tested with a nerve stimulator. Branches that mainly cause unwanted movement (for "
            "example those that close the eye when smiling or pull the mouth down) are divided; "
            "branches that drive the smile and eye closure are preserved. The function of the face "
            "is tested before the end of the operation."
        ),
        "benefits": (
            "A freer, wider smile with less eye narrowing and less tightness of the cheek and neck, "
            "and often less need for botulinum toxin. Results are usually best combined with "
            "facial retraining therapy after the operation."
        ),
        "risks": (
            "Bleeding, a collection of blood under the skin (haematoma), infection, swelling and "
            "bruising.\n"
            "A scar in front of the ear or in the neck.\n"
            "Weakness of the face, which may be temporary or, rarely, permanent: for example "
            "weaker eye closure or a weaker smile or lower lip.\n"
            "Numbness of the cheek or ear lobe; a collection of saliva (sialocele) or of fluid "
            "(seroma) that may need draining.\n"
            "The unwanted movement may partly return over time and further treatment (injections "
            "or surgery) may be needed. Risks of general anaesthesia, discussed with the "
            "anaesthetist."
        ),
        "alternatives": (
            "Botulinum toxin injections; facial retraining therapy; selective myectomy; no "
            "treatment."
        ),
        "what_to_expect": (
            "Usually one night in hospital. A drain may be left for a day. Swelling settles over "
            "several weeks; facial retraining therapy restarts when your therapist advises. "
            "Follow-up is at about one week, six weeks and three months, and the result is judged "
            "over six to twelve months."
        ),
    },
    "brow_lift": {
        "title": "Consent to brow lift",
        "description": (
            "After facial palsy the eyebrow on the affected side can droop, which can weigh on "
            "the upper eyelid and limit vision. A brow lift raises and fixes the eyebrow in a "
            "better position, through a cut just above the brow, in the forehead crease, in the "
            "upper eyelid crease, or within the hairline (sometimes with a camera). It may be "
            "combined with work on the nerve or muscle of the other side of the forehead to "
            "balance the face."
        ),
        "benefits": (
            "A more even brow position, a lighter upper eyelid, a better field of vision, and a "
            "more balanced appearance at rest."
        ),
        "risks": (
            "Bleeding, bruising, swelling and infection.\n"
            "A visible scar; hair loss along a hairline cut.\n"
            "Numbness or tingling of the forehead and scalp, usually improving over months, "
            "occasionally permanent.\n"
            "Asymmetry, over- or under-correction, or the brow dropping again over time; further "
            "surgery may be needed.\n"
            "Difficulty closing the eye fully for a while if the brow is raised a lot. Risks of the "
            "anaesthetic used."
        ),
        "alternatives": (
            "No treatment; botulinum toxin to the other side's brow to balance; upper eyelid "
            "surgery alone; different brow lift approaches, discussed with you."
        ),
        "what_to_expect": (
            "Usually a day case, under local or general anaesthetic. Swelling and bruising around "
            "the eyes for one to two weeks; sleep with the head raised. Stitches, if not "
            "dissolving, are removed after about a week. Follow-up is at about one week, six weeks "
            "and three months."
        ),
    },
    "gold_weight": {
        "title": "Consent to upper eyelid loading with a gold weight",
        "description": (
            "When the eyelid does not close fully after facial palsy, the eye can become dry and "
            "damaged. A small gold weight (usually about 0.8 to 1.8 grams, chosen by testing "
            "weights taped to your eyelid) is placed in the upper eyelid through a cut in the "
            "eyelid crease, usually under local anaesthetic. Gravity then helps the eyelid close. "
            "The weight and its lot number are recorded."
        ),
        "benefits": (
            "Better eye closure and blinking, better protection of the eye, and less need for "
            "drops and ointment and taping the eye at night."
        ),
        "risks": (
            "Bruising, swelling and infection.\n"
            "The weight may be visible as a bump, or move, or (uncommonly) work its way through "
            "the skin (extrusion), needing removal or replacement.\n"
            "The eye may still not close completely, especially lying down at night, or the lid "
            "may droop too much (ptosis); the weight may need changing.\n"
            "Allergy to gold is rare; a platinum weight can be used instead.\n"
            "Astigmatism (blurring) from pressure on the eye, usually mild.\n"
            "A gold weight is generally safe in MRI scanners; tell the radiographer about it."
        ),
        "alternatives": (
            "Eye drops, gels and ointment with taping at night; a temporary externally worn "
            "weight; a platinum chain; a tarsorrhaphy (partly joining the eyelids); botulinum "
            "toxin-induced ptosis as a temporary measure; no treatment."
        ),
        "what_to_expect": (
            "A short procedure, going home the same day. Swelling for one to two weeks; keep using "
            "eye lubricants until advised otherwise. Follow-up is at about one week, six weeks and "
            "three months. The weight can be removed later if no longer needed."
        ),
    },
    "muscle_transfer": {
        "title": "Consent to free functional muscle transfer for smile reanimation",
        "description": (
            "A muscle (most often a part of the gracilis muscle from the inner thigh) is moved to "
            "the face with its blood vessels and nerve. Its blood vessels are joined to vessels in "
            "the face under a microscope, and its nerve is joined to a nerve that will drive it: "
            "the nerve to the chewing muscle (masseter), a cross-face nerve graft from the other "
            "side of the face, or both. This may be done in one or two stages, under general "
            "anaesthetic. It is a major operation."
        ),
        "benefits": (
            "The ability to smile on the paralysed side, more symmetry at rest and in movement, "
            "and often better oral competence and speech. The muscle starts to move after several "
            "months."
        ),
        "risks": (
            "General: bleeding, haematoma, infection, blood clots in the legs or lungs, and the "
            "risks of a long general anaesthetic.\n"
            "Failure of the transferred muscle's blood supply, which may need a return to theatre "
            "and can mean the muscle is lost.\n"
            "The muscle may move weakly, too much, or not at all; the smile may look uneven or the "
            "cheek bulky; further operations to adjust it are common.\n"
            "At the thigh: a long scar, numbness, a fluid collection, and a little weakness.\n"
            "With a masseter nerve, the smile may at first happen only when biting; learning to "
            "smile without biting takes therapy.\n"
            "Numbness in the face or, with a cross-face graft, in the other side of the lip."
        ),
        "alternatives": (
            "Static procedures (slings to support the mouth corner); other muscle transfers (for "
            "example temporalis lengthening); nerve transfers alone when the facial muscles are "
            "still usable; botulinum toxin and therapy to balance the face; no treatment."
        ),
        "what_to_expect": (
            "Several nights in hospital. Swelling of the cheek for weeks. The muscle usually starts "
            "to move between about 4 and 12 months, and smile training with a therapist is a large "
            "part of the result, which keeps improving for up to two years. Follow-up is frequent "
            "in the first year."
        ),
    },
}


def seed(apps, schema_editor):
    ConsentTemplate = apps.get_model("consents", "ConsentTemplate")
    for procedure, text in FORMS.items():
        if not ConsentTemplate.objects.filter(procedure=procedure).exists():
            ConsentTemplate.objects.create(
                procedure=procedure, version=1, change_note="First version.", **text
            )


class Migration(migrations.Migration):
    dependencies = [("consents", "0002_signed_consents_read_only")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
