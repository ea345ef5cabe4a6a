from tests.mall.conftest import *  # noqa: F403 - the same shop, payables and patients
