# The health screening (questionnaire, triage outcome, staff review) arrives
# with the back-walking gate; see DESIGN.md.
