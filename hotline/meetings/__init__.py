"""The liaisons' field work (issue 12): 政企早茶会 and 恳谈会, visits (走访), and what they produce."""
