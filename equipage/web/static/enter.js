// The login link's page posts its form at once: only a browser that runs this uses the link.
document.getElementById("enter").submit();
