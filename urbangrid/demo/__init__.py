"""The demo city: its geography, organisation and simulated history, built through the product's
own actions. Sits above every product app, which never imports it."""
